using Kv4.Engine;
using Prometheus;

namespace Kv4.Server.Metrics;

/// <summary>
/// Compaction, told by <see cref="Hosting.CompactionLoop"/> after each run that truncated the log: its duration and the
/// bytes it reclaimed; the log's size is read off the engine at scrape time (<see cref="EngineMetrics"/>).
/// </summary>
public sealed class CompactionMetrics(CollectorRegistry registry)
{
    private readonly Histogram _seconds = Prometheus.Metrics.WithCustomRegistry(registry).CreateHistogram(
        "kv4_compaction_seconds", "Duration of each compaction that truncated the log (scan, carries, checkpoint, truncation).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });

    private readonly Counter _reclaimed = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter(
        "kv4_compaction_reclaimed_bytes_total", "Log bytes compaction reclaimed (the head segments it truncated).");

    private readonly Counter _carried = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter(
        "kv4_compaction_carried_records_total", "Retained records compaction copied forward past the head it truncated.");

    public void Observe(CompactionResult result)
    {
        if (result.Skipped is not null) return;
        _seconds.Observe(result.Duration.TotalSeconds, Exemplar.None);
        _reclaimed.Inc(result.ReclaimedBytes, Exemplar.None);
        _carried.Inc(result.Carried, Exemplar.None);
    }
}
