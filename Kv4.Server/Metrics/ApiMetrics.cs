using System.Collections.Concurrent;
using Prometheus;

namespace Kv4.Server.Metrics;

/// <summary>
/// Request counters and latency histograms of the API, labelled by service, method and status. Label values
/// come from small fixed sets (a service outside the catalog counts as "unknown"), so the series stay bounded;
/// the labelled children are cached so a request costs a dictionary lookup, not a label array. The collectors live in
/// the host's own registry (<see cref="HostMetrics"/>), not the process-wide default.
/// </summary>
public sealed class ApiMetrics(CollectorRegistry registry)
{
    public const string UnknownService = "unknown";

    private readonly Counter _requestsTotal = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter(
        "kv4_api_requests_total", "API requests answered, by service, method and HTTP status.",
        new CounterConfiguration { LabelNames = ["service", "method", "status"] });

    private readonly Histogram _duration = Prometheus.Metrics.WithCustomRegistry(registry).CreateHistogram(
        "kv4_api_request_duration_seconds", "Time from routing to the last byte of the reply, by service and method.",
        new HistogramConfiguration { LabelNames = ["service", "method"], Buckets = Histogram.ExponentialBuckets(0.00005, 2, 18) });

    private readonly ConcurrentDictionary<(string Service, string Method, int Status), Counter.Child> _requests = new();
    private readonly ConcurrentDictionary<(string Service, string Method), Histogram.Child> _latency = new();

    private long _answered;

    /// <summary>Requests answered since the start (a cluster node's heartbeat turns it into a rate for `_host` and `/_cluster`).</summary>
    public long Answered => Interlocked.Read(ref _answered);

    public void Observe(string service, string method, int status, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _answered);
        var key = (service, method, status);
        if (!_requests.TryGetValue(key, out var counter))
            counter = _requests.GetOrAdd(key, k => _requestsTotal.WithLabels(k.Service, k.Method, k.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        // Exemplar.None: prometheus-net otherwise attaches the current trace as an exemplar on every call, which
        // costs a clock read under a lock and pooled objects per request; the hot GET measured it at ~9% of its handler.
        counter.Inc(Exemplar.None);
        var latencyKey = (service, method);
        if (!_latency.TryGetValue(latencyKey, out var histogram))
            histogram = _latency.GetOrAdd(latencyKey, k => _duration.WithLabels(k.Service, k.Method));
        histogram.Observe(elapsed.TotalSeconds, Exemplar.None);
    }
}
