using System.Diagnostics;
using System.Text;

namespace Kv4.Tests.Cli;

/// <summary>A kv4 that keeps running (a watch): its stdout read line by line as it comes, stderr kept. Killed on dispose.</summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _error = new();
    private readonly Task _errorReader;
    private readonly SemaphoreSlim _errorChanged = new(0);

    public CliProcess(Process process)
    {
        _process = process;
        _errorReader = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (_error) _error.Append(line).Append('\n');
                _errorChanged.Release();
            }
            _errorChanged.Release();
        });
    }

    public string Err
    {
        get { lock (_error) return _error.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The next line of stdout, waiting for it; fails if the process ends or nothing comes in time.</summary>
    public async Task<string> ReadLineAsync()
    {
        using var timeout = new CancellationTokenSource(Kv4Cli.Patience);
        try
        {
            return await _process.StandardOutput.ReadLineAsync(timeout.Token)
                   ?? throw new InvalidOperationException($"kv4 ended (exit {(_process.HasExited ? _process.ExitCode : -1)}) before the line came\n{Err}");
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no line from kv4 within {Kv4Cli.Patience}\n{Err}");
        }
    }

    /// <summary>Waits until stderr has a line containing <paramref name="text"/>.</summary>
    public async Task WaitForErrAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Kv4Cli.Patience);
        while (!Err.Contains(text, StringComparison.Ordinal))
        {
            if (_errorReader.IsCompleted) throw new InvalidOperationException($"kv4 ended before saying '{text}'\n{Err}");
            try { await _errorChanged.WaitAsync(timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"kv4 did not say '{text}' within {Kv4Cli.Patience}\n{Err}"); }
        }
    }

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(Kv4Cli.Patience);
        await _errorReader;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
