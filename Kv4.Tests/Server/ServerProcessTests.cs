using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Kv4.Server.Configuration;

namespace Kv4.Tests.Server;

/// <summary>
/// The server as a user starts it: `dotnet Kv4.Server.dll` in its own process, configured only through the
/// public knobs — `--urls`, `KV4_SYS_SECRET` and `Kv4__...` environment variables — with its JSON console logs.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ServerProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Environment_knobs_reach_the_server_and_its_logs_are_json()
    {
        using var work = new Kv4.Tests.Engine.Support.TempDirectory("server-process");
        var dataDir = Path.Combine(work.Path, "custom-data");
        var sysSecret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var start = new ProcessStartInfo(Kv4.Tests.Support.DotnetHost.Path)
        {
            WorkingDirectory = work.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Kv4.Server.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        start.Environment["KV4_SYS_SECRET"] = sysSecret;
        start.Environment["Kv4__DataDir"] = dataDir;
        start.Environment["Kv4__Durability"] = "sync";
        start.Environment["Kv4__Api__ErrorsAsOk"] = "true";
        start.Environment["Kv4__Node__PublicUrl"] = "https://node1.example.com";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start Kv4.Server");
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // Structured logs: every console line is a JSON object; Kestrel's address comes out of one of them.
            using var timeout = new CancellationTokenSource(Patience);
            Uri? address = null;
            var lines = new List<string>();
            while (address is null)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"the server exited: {string.Join('\n', lines)}\n{await stderr}");
                lines.Add(line);
                using var json = JsonDocument.Parse(line);
                Assert.True(json.RootElement.TryGetProperty("Category", out _), line);
                Assert.True(json.RootElement.TryGetProperty("Timestamp", out _), line);
                var message = json.RootElement.GetProperty("Message").GetString() ?? "";
                const string listening = "Now listening on: ";
                if (message.StartsWith(listening, StringComparison.Ordinal)) address = new Uri(message[listening.Length..]);
            }
            _ = DrainAsync(process.StandardOutput);

            using var anonymous = new HttpClient { BaseAddress = address, Timeout = Patience };
            while ((await anonymous.GetAsync("/readyz", timeout.Token)).StatusCode != HttpStatusCode.OK)
                await Task.Delay(50, timeout.Token);

            // KV4_SYS_SECRET is the $sys secret: it creates an account; nothing was generated into the data directory.
            using var sys = Client(address, "$sys", sysSecret);
            var elenaSecret = (await sys.PutReplyAsync("/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com"}}""")).IsOk()
                .V.GetProperty("secret").GetString()!;
            Assert.False(File.Exists(Path.Combine(dataDir, ServerSecrets.SysSecretFile)));
            Assert.True(Directory.Exists(Path.Combine(dataDir, "log")), "Kv4__DataDir holds the log");

            // Kv4__Api__ErrorsAsOk: application errors come with HTTP 200 and the same body.
            using var wrong = Client(address, "$sys", "not-the-secret");
            (await wrong.GetReplyAsync("/_acc/accounts")).IsError("unauthorized", HttpStatusCode.OK);
            using var elena = Client(address, "elena", elenaSecret);
            (await elena.GetReplyAsync("/_data/none?k=absent")).IsError("not_found", HttpStatusCode.OK);

            // Kv4__Node__PublicUrl: the signal base, https mapped to wss.
            Assert.Equal("wss://node1.example.com/ws", (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static HttpClient Client(Uri address, string user, string secret)
    {
        var client = new HttpClient { BaseAddress = address, Timeout = Patience };
        client.DefaultRequestHeaders.Authorization = System.Net.Http.Headers.AuthenticationHeaderValue.Parse(
            Kv4.Server.Authentication.BasicCredential.Header(user, secret));
        return client;
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is not null) { }
    }
}
