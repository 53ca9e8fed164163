using Kv4.Services.Api;
using Kv4.Services.Config;
using Kv4.Services.External;
using Kv4.Services.Hosts;
using Kv4.Services.Stats;
using Kv4.Services.Storage;
using Kv4.Services.Turn;

namespace Kv4.Services;

/// <summary>
/// The platform part the host wires next to <see cref="ServiceSet"/> and <see cref="RealtimeSet"/>: `_turn`, `_svc`
/// (the external service registry), `_stats`, `_cfg`; the catalog fallback that forwards registered external
/// services; the host directories `_host` consults for "turn" and every registered name; and the stats recorder
/// the endpoint tells about every call. Creating it starts the stats flush loop; disposing it (before the store
/// closes) stops the loop and flushes what is left, so a graceful stop loses no stats.
/// </summary>
public sealed class PlatformSet : IAsyncDisposable
{
    private readonly ExternalServiceForwarder _forwarder;
    private readonly CancellationTokenSource _stopping = new();
    private Task _flushing = Task.CompletedTask;

    private PlatformSet(ExternalServiceRegistry registry, ExternalServiceForwarder forwarder, StatsRecorder stats,
        IReadOnlyList<IApiService> services, IServiceFallback fallback, IReadOnlyList<IHostDirectory> hostDirectories)
    {
        Registry = registry;
        _forwarder = forwarder;
        Stats = stats;
        Services = services;
        Fallback = fallback;
        HostDirectories = hostDirectories;
    }

    public ExternalServiceRegistry Registry { get; }

    /// <summary>The endpoint's <see cref="IApiCallRecorder"/> and the flush loop.</summary>
    public StatsRecorder Stats { get; }

    /// <summary>`_turn`, `_svc`, `_stats`, `_cfg`.</summary>
    public IReadOnlyList<IApiService> Services { get; }

    /// <summary>Pass to <see cref="ServiceCatalog"/>: unknown prefixes with registered hosts are forwarded.</summary>
    public IServiceFallback Fallback { get; }

    /// <summary>Pass to <see cref="RealtimeSet"/>: "turn" from the configured pool, and every registered external name.</summary>
    public IReadOnlyList<IHostDirectory> HostDirectories { get; }

    public static PlatformSet Create(IStore store, PlatformSettings settings)
    {
        var registry = new ExternalServiceRegistry(settings.Clock);
        var forwarder = new ExternalServiceForwarder(registry, settings.External);
        var turn = new TurnService(settings.Turn, settings.Clock, registry, forwarder);
        var stats = new StatsRecorder(new StatsAccumulator(), new StatsRollupStore(store), settings.Stats, settings.Clock);
        IApiService[] services =
        [
            turn,
            new ServiceRegistryService(registry),
            new StatsService(stats),
            new ConfigService(),
        ];
        IHostDirectory[] directories = [new TurnHostDirectory(turn.Pool, registry), new ExternalHostDirectory(registry)];
        var set = new PlatformSet(registry, forwarder, stats, services, new ExternalServiceRouter(registry, forwarder), directories);
        set._flushing = Task.Run(() => stats.RunAsync(set._stopping.Token));
        return set;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _flushing.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        try
        {
            await Stats.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            _forwarder.Dispose();
            _stopping.Dispose();
        }
    }
}

/// <summary>What <see cref="PlatformSet"/> is built with (bound by the host from `Kv4:Turn`, `Kv4:External`, `Kv4:Stats`).</summary>
public sealed class PlatformSettings
{
    public TurnOptions Turn { get; init; } = new();

    public ExternalServiceOptions External { get; init; } = new();

    public StatsOptions Stats { get; init; } = new();

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
