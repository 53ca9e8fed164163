using System.Diagnostics;
using System.Net;
using Kv4.Tests.Realtime;
using Kv4.Tests.Server;
using Kv4.Tests.Support;

namespace Kv4.Tests.Platform;

/// <summary>
/// External services (http-api.md §5.8 External services) with real host processes: each <c>Kv4.ServiceHost</c> registers itself with a
/// real Kv4 server over HTTP and renews on its own. The least loaded one answers; one killed with SIGKILL is taken
/// out and the request goes to the next; one frozen with SIGSTOP stops renewing and expires from the choice.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ExternalHostProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [ToolFact("kill")]
    public async Task Real_hosts_are_chosen_by_load_fail_over_when_killed_and_expire_when_they_stop_renewing()
    {
        await using var server = await Kv4TestServer.StartAsync();
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", "elena password 1");
        using var elena = server.Client("elena", secret);

        await using var light = await HostProcess.StartAsync(server, "ocr", "light", load: 10, ttlSeconds: 2);
        await using var heavy = await HostProcess.StartAsync(server, "ocr", "heavy", load: 50, ttlSeconds: 2);

        // The least loaded live host is the one `_host` names and the one that answers, with elena's identity.
        Assert.Equal(light.Url, (await elena.GetReplyAsync("/_host?type=ocr")).IsOk().V.GetString());
        var answer = (await elena.PostReplyAsync("/_ocr/jobs/1", """{"k":"x","v":1}""")).IsOk().V;
        Assert.Equal("light", answer.GetProperty("host").GetString());
        Assert.Equal("elena", answer.GetProperty("bucket").GetString());

        // Killed: the request that finds it gone is retried on the next host; from then on the next one is chosen.
        light.Kill();
        Assert.Equal("heavy", (await elena.PostReplyAsync("/_ocr/jobs/2", """{"k":"x","v":1}""")).IsOk().V.GetProperty("host").GetString());
        Assert.Equal(heavy.Url, (await elena.GetReplyAsync("/_host?type=ocr")).IsOk().V.GetString());

        // A lighter host comes and is chosen; frozen, it stops renewing and its registration runs out (ttl 2 s).
        await using var frozen = await HostProcess.StartAsync(server, "ocr", "frozen", load: 1, ttlSeconds: 2);
        Assert.Equal(frozen.Url, (await elena.GetReplyAsync("/_host?type=ocr")).IsOk().V.GetString());
        frozen.Signal("STOP");
        using (var timeout = new CancellationTokenSource(Patience))
        {
            while ((await elena.GetReplyAsync("/_host?type=ocr")).IsOk().V.GetString() == frozen.Url)
                await Task.Delay(100, timeout.Token);
        }
        Assert.Equal(heavy.Url, (await elena.GetReplyAsync("/_host?type=ocr")).IsOk().V.GetString());
        Assert.Equal("heavy", (await elena.PostReplyAsync("/_ocr/jobs/3", """{"k":"x","v":1}""")).IsOk().V.GetProperty("host").GetString());

        // None left: no_service_host.
        heavy.Kill();
        frozen.Kill();
        (await elena.PostReplyAsync("/_ocr/jobs/4", """{"k":"x","v":1}""")).IsError("no_service_host", HttpStatusCode.ServiceUnavailable);
    }

    private sealed class HostProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private HostProcess(Process process, string url)
        {
            _process = process;
            Url = url;
        }

        /// <summary>What it registered, as `_host` answers it.</summary>
        public string Url { get; }

        public static async Task<HostProcess> StartAsync(Kv4TestServer server, string service, string id, double load, int ttlSeconds)
        {
            var start = new ProcessStartInfo(Kv4.Tests.Support.DotnetHost.Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { Kv4.Tests.Support.DotnetHost.BuiltDll("Kv4.ServiceHost"), server.BaseAddress.ToString(), Kv4TestServer.SysSecret, service, id,
                         load.ToString(System.Globalization.CultureInfo.InvariantCulture), ttlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(arg);
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start Kv4.ServiceHost");
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(Patience);
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
            {
                process.Kill();
                throw new InvalidOperationException($"Kv4.ServiceHost {id} did not register: {line} {await stderr}");
            }
            // The registry keeps the URL in its normal form (with the root slash).
            return new HostProcess(process, new Uri(line["ready ".Length..]).ToString());
        }

        public void Kill()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Signal(string signal)
        {
            using var kill = Process.Start(ExternalTool.Require("kill"), ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
            Assert.Equal(0, kill.ExitCode);
        }

        public ValueTask DisposeAsync()
        {
            Kill();
            _process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
