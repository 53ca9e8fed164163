using Prometheus;

namespace Kv4.Server.Metrics;

/// <summary>
/// Latency of the engine's real log commits, told by the engine itself (<c>StoreOptions.CommitObserved</c>): in
/// `sync` mode each group commit a batch of writers waited for, in `interval` mode each periodic commit.
/// Its `_count` is the number of commits.
/// </summary>
public sealed class CommitMetrics(CollectorRegistry registry)
{
    private readonly Histogram _commitSeconds = Prometheus.Metrics.WithCustomRegistry(registry).CreateHistogram(
        "kv4_engine_commit_seconds", "Latency of each log commit (a group commit in sync mode, the periodic commit in interval mode).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    public void Observe(TimeSpan elapsed) => _commitSeconds.Observe(elapsed.TotalSeconds, Exemplar.None);
}
