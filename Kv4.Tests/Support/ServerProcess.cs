using System.Diagnostics;

namespace Kv4.Tests.Support;

/// <summary>
/// `dotnet Kv4.Server.dll --urls http://127.0.0.1:0` (or the <c>urls</c> given, to come back on the same port after a
/// restart) in its own process, in <c>workingDirectory</c>, with the given environment (KV4_SYS_SECRET removed unless
/// given), and everything it writes kept line by line. Killed on dispose.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _changed = new(0);

    private ServerProcess(Process process) => _process = process;

    public static ServerProcess Start(string workingDirectory, IReadOnlyDictionary<string, string> environment, string urls = "http://127.0.0.1:0")
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Kv4.Server.dll"), "--urls", urls })
            start.ArgumentList.Add(arg);
        start.Environment.Remove(Kv4.Server.Configuration.ServerSecrets.SysSecretEnvironmentVariable);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server.Add(e.Data);
        process.Exited += (_, _) => server._changed.Release();
        if (!process.Start()) throw new InvalidOperationException("could not start Kv4.Server");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>The process id (for signals a test sends it).</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything written so far, stdout and stderr interleaved as read.</summary>
    public string Output
    {
        get { lock (_lines) return string.Join('\n', _lines); }
    }

    /// <summary>The first line <paramref name="match"/> accepts, waiting for it; fails if the server exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var seen = 0;
        while (true)
        {
            lock (_lines)
            {
                for (; seen < _lines.Count; seen++)
                    if (match(_lines[seen])) return _lines[seen];
            }
            if (_process.HasExited) throw new InvalidOperationException($"the server exited ({_process.ExitCode}):\n{Output}");
            try { await _changed.WaitAsync(timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"no such line within {Patience.TotalSeconds} s:\n{Output}"); }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null) return;
        lock (_lines) _lines.Add(line);
        _changed.Release();
    }
}
