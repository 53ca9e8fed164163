using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Kv4.Server.Metrics;

/// <summary>
/// What the host reads off the engine when /metrics is scraped: the records all partitions have appended (one per
/// mutation, so its rate is the write rate), the bytes of the data directory (log plus checkpoints) and readiness. Gauges of
/// the host's own registry (<see cref="HostMetrics"/>), refreshed by its before-collect callback; commit latency
/// comes from the engine itself (<see cref="CommitMetrics"/>).
/// </summary>
public sealed class EngineMetrics
{
    private readonly EngineLifetime _engine;
    private readonly string _dataDir;
    private readonly Gauge _appendedRecords;
    private readonly Gauge _dataBytes;
    private readonly Gauge _ready;
    private readonly Gauge _logBytes;

    public EngineMetrics(EngineLifetime engine, IOptions<Kv4Options> options, CollectorRegistry registry)
    {
        _engine = engine;
        _dataDir = options.Value.DataDirFullPath;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _appendedRecords = factory.CreateGauge(
            "kv4_engine_appended_records", "Records every partition has appended, together: one per write, delete or bucket drop.");
        _dataBytes = factory.CreateGauge("kv4_engine_data_bytes", "Bytes on disk in the data directory: the log and the index checkpoints.");
        _ready = factory.CreateGauge("kv4_engine_ready", "1 once the engine has opened and recovered.");
        _logBytes = factory.CreateGauge("kv4_engine_log_bytes", "The log's size: from its head (what compaction left) to its tail, in bytes.");
        registry.AddBeforeCollectCallback(Refresh);
    }

    /// <summary>Refreshes the gauges; registered as a before-collect callback of the host's registry.</summary>
    public void Refresh()
    {
        var store = _engine.Runtime?.Store;
        _ready.Set(_engine.IsReady ? 1 : 0);
        if (store is null) return;
        try
        {
            _appendedRecords.Set(store.AppendedRecords);
            _dataBytes.Set(DirectoryBytes(_dataDir));
            _logBytes.Set(store.LogBytes);
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException or UnauthorizedAccessException)
        {
            // Closing, or a file vanished while we counted: the next scrape will tell.
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
}
