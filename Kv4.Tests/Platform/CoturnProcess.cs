using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

using Kv4.Tests.Support;

namespace Kv4.Tests.Platform;

/// <summary>
/// A real coturn `turnserver` on 127.0.0.1 with the TURN REST API shared secret, started for one test and killed on
/// dispose. Everything it writes (log, pid file, user db) goes to a temporary directory; the system config is bypassed
/// with an empty config file.
/// </summary>
public sealed class CoturnProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private CoturnProcess(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public static async Task<CoturnProcess> StartAsync(string secret, string realm = "kv4.test")
    {
        var directory = Path.Combine(Path.GetTempPath(), "kv4-coturn-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "empty.conf");
        await File.WriteAllTextAsync(config, "");
        var port = FreePorts.NextTcpAndUdp();
        var start = new ProcessStartInfo(Kv4.Tests.Support.ExternalTool.Require("turnserver"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "-c", config, "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", $"--listening-port={port}",
                     "--use-auth-secret", $"--static-auth-secret={secret}", $"--realm={realm}", "--allow-loopback-peers",
                     "--no-cli", "--no-tls", "--no-dtls", "--log-file=stdout", $"--pidfile={Path.Combine(directory, "turnserver.pid")}",
                     $"--userdb={Path.Combine(directory, "turndb")}", "--no-software-attribute",
                 })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException("turnserver did not start");
        var coturn = new CoturnProcess(process, port, directory);
        process.OutputDataReceived += (_, e) => coturn.Append(e.Data);
        process.ErrorDataReceived += (_, e) => coturn.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await coturn.WaitUntilListeningAsync();
        }
        catch
        {
            coturn.Dispose();
            throw;
        }
        return coturn;
    }

    /// <summary>Runs `turnutils_uclient` against this server: allocates a relay and exchanges one message through it.</summary>
    public async Task<(int ExitCode, string Output)> AllocateAsync(string username, string credential, bool tcp = false)
    {
        var start = new ProcessStartInfo(Kv4.Tests.Support.ExternalTool.Require("turnutils_uclient"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // -y: client-to-client through two relays (no separate peer needed); -n 1: one message; -c: no RTCP pair.
        var args = new List<string> { "-p", Port.ToString(), "-u", username, "-w", credential, "-y", "-n", "1", "-c" };
        if (tcp) args.Insert(0, "-t");
        args.Add("127.0.0.1");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var client = Process.Start(start) ?? throw new InvalidOperationException("turnutils_uclient did not start");
        var stdout = client.StandardOutput.ReadToEndAsync();
        var stderr = client.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await client.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            client.Kill(entireProcessTree: true);
            throw new TimeoutException("turnutils_uclient did not finish in 90 s");
        }
        return (client.ExitCode, await stdout + await stderr);
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException("turnserver exited: " + Log);
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException("turnserver did not listen: " + Log);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
