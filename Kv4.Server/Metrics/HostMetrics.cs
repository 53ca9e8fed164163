using Prometheus;

namespace Kv4.Server.Metrics;

/// <summary>
/// The host's own Prometheus registry, served at /metrics: the API and engine collectors plus the .NET process
/// statistics. Not the process-wide default registry, because two hosts in one process (tests, tools) would
/// otherwise share gauges and each scrape would show whichever host refreshed them last.
/// </summary>
public static class HostMetrics
{
    public static CollectorRegistry CreateRegistry()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        return registry;
    }
}
