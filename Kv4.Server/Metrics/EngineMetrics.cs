using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Kv4.Server.Metrics;

/// <summary>
/// What the host can see of the engine, measured from outside it: the last sequence number (every mutation
/// takes one, so its rate is the write rate), the bytes of the data directory (log plus checkpoints), and the
/// latency of a commit, sampled by an explicit flush every <see cref="ProbeInterval"/>. Gauges are refreshed
/// when /metrics is scraped, from the host's own registry (<see cref="HostMetrics"/>).
/// </summary>
public sealed partial class EngineMetrics : BackgroundService
{
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(15);

    private readonly EngineLifetime engine;
    private readonly ILogger<EngineMetrics> log;
    private readonly Gauge _lastSequence;
    private readonly Gauge _dataBytes;
    private readonly Gauge _ready;
    private readonly Histogram _commitSeconds;

    public EngineMetrics(EngineLifetime engine, IOptions<Kv4Options> options, CollectorRegistry registry, ILogger<EngineMetrics> log)
    {
        this.engine = engine;
        this.log = log;
        _dataDir = options.Value.DataDirFullPath;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _lastSequence = factory.CreateGauge(
            "kv4_engine_last_sequence", "Sequence number of the last acknowledged mutation (grows by one per write, delete or bucket drop).");
        _dataBytes = factory.CreateGauge("kv4_engine_data_bytes", "Bytes on disk in the data directory: the log and the index checkpoints.");
        _ready = factory.CreateGauge("kv4_engine_ready", "1 once the engine has opened and recovered.");
        _commitSeconds = factory.CreateHistogram(
            "kv4_engine_commit_seconds", "Latency of a log commit (FlushAsync), sampled periodically by the host.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });
        registry.AddBeforeCollectCallback(Refresh);
    }

    private readonly string _dataDir;

    /// <summary>Refreshes the gauges; registered as a before-collect callback of the host's registry.</summary>
    public void Refresh()
    {
        var store = engine.Runtime?.Store;
        _ready.Set(engine.IsReady ? 1 : 0);
        if (store is null) return;
        try
        {
            _lastSequence.Set(store.LastSequence);
            _dataBytes.Set(DirectoryBytes(_dataDir));
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException or UnauthorizedAccessException)
        {
            // Closing, or a file vanished while we counted: the next scrape will tell.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ProbeInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (engine.Runtime?.Store is not { } store) continue;
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await store.FlushAsync(stoppingToken);
                    _commitSeconds.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogProbeFailed(e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static long DirectoryBytes(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories))
            total += file.Length;
        return total;
    }

    [LoggerMessage(LogLevel.Warning, "commit probe failed: {Error}")]
    private partial void LogProbeFailed(string error);
}
