using Kv4.Server.Configuration;
using Kv4.Server.Metrics;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Hosting;

/// <summary>
/// Enforces retention on this node: every `Kv4:Compaction:IntervalSeconds` it asks the engine to compact
/// (<see cref="Kv4.Engine.Kv4Store.CompactAsync"/>), which does nothing unless the log has a whole segment behind the
/// tail's and at least `MinReclaimPercent` of it is outside retention. One compaction at a time, while requests are
/// served. A node of a cluster compacts its own copies of its partitions by the same rules (see docs/operations.md).
/// </summary>
public sealed partial class CompactionLoop(EngineLifetime engine, IOptions<Kv4Options> options, CompactionMetrics metrics, ILogger<CompactionLoop> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Compaction;
        if (settings.IntervalSeconds == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.IntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (engine.Runtime?.Store is not { } store) continue;
                try
                {
                    var result = await store.CompactAsync(settings.MinReclaimPercent / 100.0, stoppingToken);
                    metrics.Observe(result);
                    if (result.Skipped is null)
                        LogCompacted(result.ReclaimedBytes, result.FromAddress, result.ToAddress, result.Carried, result.Keys, result.Duration.TotalMilliseconds);
                }
                catch (Kv4.Engine.Rules.EngineException e) when (e.Error == Kv4.Engine.Rules.EngineError.Closed)
                {
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(LogLevel.Information,
        "compaction reclaimed {ReclaimedBytes} bytes (log head {FromAddress} -> {ToAddress}), carried {Carried} retained records of {Keys} keys, in {ElapsedMs:F0} ms")]
    private partial void LogCompacted(long reclaimedBytes, long fromAddress, long toAddress, long carried, long keys, double elapsedMs);

    [LoggerMessage(LogLevel.Error, "compaction failed; the log is as it was before it and the next run tries again")]
    private partial void LogFailed(Exception error);
}
