using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Stats;

/// <summary>
/// Records measurements into the <see cref="StatsAccumulator"/> and flushes them as per-minute rollups every
/// <see cref="StatsOptions.FlushSeconds"/> (<see cref="RunAsync"/>), and once more on shutdown (<see cref="FlushAsync"/>
/// from the host's stop): a crash loses at most the values of one interval, nothing else.
/// Also the host's <see cref="IApiCallRecorder"/>: every call counts 1 in `api:3`.
/// </summary>
public sealed class StatsRecorder(StatsAccumulator accumulator, StatsRollupStore rollups, StatsOptions options, TimeProvider clock) : IApiCallRecorder, IStatsSink
{
    public const string ApiCallsMeasurement = "api:3";

    private readonly SemaphoreSlim _flushing = new(1, 1);
    // "data/GET" and friends, built once per (service, method) instead of per call; null for a name that is no path.
    // Bounded by the catalog: the built-in services and the registered external names, four methods each.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, ApiMethod), string?> _entities = new();

    public StatsRollupStore Rollups => rollups;

    /// <summary>Records one value now. False when the accumulator is full until the next flush.</summary>
    public bool Record(string bucket, string entity, string measurement, string key, double value) =>
        accumulator.Record(new StatsCell(bucket, entity, measurement, key, StatsSeries.MinuteStart(clock.GetUtcNow().ToUnixTimeMilliseconds())), value);

    public void RecordCall(string service, ApiMethod method, Caller caller)
    {
        var entity = _entities.GetOrAdd((service, method), static k =>
            AddressRules.TryNormalizePath(k.Item1 + "/" + k.Item2.ToString().ToUpperInvariant(), out var path) ? path : null);
        if (entity is not null) Record(caller.Bucket, entity, ApiCallsMeasurement, caller.Actor, 1);
    }

    /// <summary>Writes everything recorded so far. Serialized: concurrent calls wait for each other.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var cells = accumulator.Drain();
            if (cells.Count > 0) await rollups.WriteAsync(cells, accumulator, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>Flushes every interval until cancelled. A failed flush keeps its values for the next one.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.FlushSeconds)), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await FlushAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The values went back into the accumulator; the next tick (or the flush on stop) retries.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
