using Kv4.Services;

namespace Kv4.Server.Hosting;

/// <summary>
/// Opens the engine in the background when the host starts, so `/healthz` answers while the log is recovered,
/// and `/readyz` and the API only once it is open. Closes it (flushing the log) when the host stops.
/// A failure to open is fatal: it is logged and the host is stopped, rather than serving without data.
/// </summary>
public sealed partial class EngineLifetime(IServiceRuntimeFactory factory, IHostApplicationLifetime application, ILogger<EngineLifetime> log)
    : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private volatile Kv4Runtime? _runtime;
    private Task _opening = Task.CompletedTask;

    /// <summary>Null until the engine has opened and recovered.</summary>
    public Kv4Runtime? Runtime => _runtime;

    public bool IsReady => _runtime is not null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _opening = Task.Run(OpenAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Waits until the engine is open (tests and tools; requests never wait).</summary>
    public Task WhenOpenAsync() => _opening;

    private async Task OpenAsync()
    {
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var runtime = await factory.OpenAsync(_stopping.Token);
            _runtime = runtime;
            LogOpened(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogOpenFailed(e);
            Environment.ExitCode = 1;
            application.StopApplication();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _opening;
        var runtime = _runtime;
        _runtime = null;
        if (runtime is null) return;
        try
        {
            await runtime.DisposeAsync();
            LogClosed();
        }
        catch (Exception e)
        {
            LogCloseFailed(e);
        }
    }

    [LoggerMessage(LogLevel.Information, "engine open and recovered in {ElapsedMs:F0} ms; ready")]
    private partial void LogOpened(double elapsedMs);

    [LoggerMessage(LogLevel.Critical, "the engine could not be opened; stopping")]
    private partial void LogOpenFailed(Exception error);

    [LoggerMessage(LogLevel.Information, "engine flushed and closed")]
    private partial void LogClosed();

    [LoggerMessage(LogLevel.Error, "closing the engine failed")]
    private partial void LogCloseFailed(Exception error);
}
