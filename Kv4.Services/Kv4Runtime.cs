using Kv4.Engine;
using Kv4.Services.Access;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Kv4.Services.Storage;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Services;

/// <summary>
/// The one composition root: every service, the catalog that finds them, the admission every door calls and the
/// registry of live connections, built in one place on an open store. The host builds it once the engine has
/// recovered; the tests build the same runtime (with fakes only where they pass them through
/// <see cref="RuntimeSettings"/>). Nothing in it is optional. Disposing it closes the live connections, flushes the
/// platform's stats and closes the store.
/// <code>
///   Kv4Store ─► EngineStore (IStore: a view per bucket)
///            ─► ServiceSet (data ns acc auth ds, accounts, deny list)
///            ─► PlatformSet (turn svc stats cfg, external forwarding)
///            ─► RealtimeSet (token sess host subs, hub, presence, sessions, tokens)
///            ─► Admission (authenticator, tokens, sessions, deny list) ─► LiveConnections
/// </code>
/// </summary>
public sealed class Kv4Runtime : IAsyncDisposable
{
    private Kv4Runtime(Kv4Store store, IStore storage, ServiceCatalog catalog, Admission admission, LiveConnections connections,
        ServiceSet core, PlatformSet platform, RealtimeSet realtime)
    {
        Store = store;
        Storage = storage;
        Catalog = catalog;
        Admission = admission;
        Connections = connections;
        Core = core;
        Platform = platform;
        Realtime = realtime;
    }

    /// <summary>This node's engine: opened, flushed and closed here, and measured by the host.</summary>
    public Kv4Store Store { get; }

    /// <summary>
    /// The way every service and door reaches data: a view per bucket (<see cref="IStore.Bucket"/>), handed to each
    /// request scoped to its caller's bucket. Nothing above it names the engine, so a router can take its place.
    /// </summary>
    public IStore Storage { get; }

    public ServiceCatalog Catalog { get; }

    public Admission Admission { get; }

    public LiveConnections Connections { get; }

    public ServiceSet Core { get; }

    public PlatformSet Platform { get; }

    public RealtimeSet Realtime { get; }

    /// <summary>What runs <see cref="Storage"/> when it is not this node's engine alone (a cluster node): stopped before the engine closes.</summary>
    private IAsyncDisposable? StorageOwner { get; init; }

    /// <summary>Whether this node can serve now: always once open, for a single node; a cluster node while it holds its lease.</summary>
    public Func<bool> Serving { get; private init; } = static () => true;

    /// <summary>Told about every admitted call (`api:3` stats).</summary>
    public IApiCallRecorder Calls => Platform.Stats;

    public static async Task<Kv4Runtime> CreateAsync(Kv4Store store, RuntimeSettings settings, CancellationToken cancellationToken = default)
    {
        var changes = new StandingChanges();
        var storage = settings.Storage ?? new EngineStore(store);
        var core = await ServiceSet.CreateAsync(storage, settings.Core, changes, cancellationToken).ConfigureAwait(false);
        var platform = PlatformSet.Create(storage, settings.Platform);
        try
        {
            var realtime = await RealtimeSet.CreateAsync(storage, settings.Realtime, settings.Signing, settings.Validation,
                core.Authenticator.AuthenticatePasswordAsync, core.Namespaces, platform.HostDirectories, changes, platform.Stats, cancellationToken).ConfigureAwait(false);
            var cluster = settings.Cluster ?? new Cluster.SingleNodeCluster(store.PartitionCount, settings.Realtime.PublicUrl,
                () => (realtime.Hub.ConnectionCount, 0));
            var services = settings.Services ?? core.Services.Concat(realtime.Services).Concat(platform.Services).Append(new Cluster.ClusterService(cluster))
                .Append(new Backup.BackupService(storage));
            var catalog = new ServiceCatalog(services.Concat(settings.ExtraServices), platform.Fallback);
            var admission = new Admission(settings.Authenticator ?? core.Authenticator, realtime.Tokens, realtime.Sessions,
                settings.AccessPolicy ?? core.AccessPolicy);
            var connections = new LiveConnections(admission, changes, settings.Core.Clock);
            return new Kv4Runtime(store, storage, catalog, admission, connections, core, platform, realtime)
            {
                StorageOwner = settings.StorageOwner,
                Serving = settings.Serving ?? (static () => true),
            };
        }
        catch
        {
            await platform.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Connections.Dispose();
        Realtime.Hub.CloseAll(Signal.SignalCloseReason.ServerStopping);
        // Stats still in memory are flushed while the store is open.
        await Platform.DisposeAsync().ConfigureAwait(false);
        // A cluster node stops talking to the others before its engine closes under it.
        if (StorageOwner is { } owner) await owner.DisposeAsync().ConfigureAwait(false);
        await Store.FlushAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>What <see cref="Kv4Runtime"/> is built with: the settings of each part, the JWT key, and the fakes a test passes.</summary>
public sealed record RuntimeSettings
{
    public required ServiceSettings Core { get; init; }

    public required RealtimeSettings Realtime { get; init; }

    public PlatformSettings Platform { get; init; } = new();

    /// <summary>The key every JWT is signed with, and the one validation every door uses (issuer, audience, 5 s skew).</summary>
    public required SigningCredentials Signing { get; init; }

    public required TokenValidationParameters Validation { get; init; }

    /// <summary>Added to the built-in services (a host's own, or a test's).</summary>
    public IEnumerable<IApiService> ExtraServices { get; init; } = [];

    /// <summary>Replaces the built-in services in the catalog (host tests that probe the pipeline alone).</summary>
    public IEnumerable<IApiService>? Services { get; init; }

    /// <summary>Replaces the accounts' authenticator in admission (host tests with fixed logins).</summary>
    public ICallerAuthenticator? Authenticator { get; init; }

    /// <summary>Replaces the deny list in admission (host tests that deny at will).</summary>
    public IAccessPolicy? AccessPolicy { get; init; }

    /// <summary>The storage services use instead of this node's engine alone: a cluster's router.</summary>
    public IStore? Storage { get; init; }

    /// <summary>What `/_cluster` reports; null: a cluster of one (this node).</summary>
    public Cluster.IClusterView? Cluster { get; init; }

    /// <summary>Runs <see cref="Storage"/> (a cluster node): disposed after the services stop, before the engine closes.</summary>
    public IAsyncDisposable? StorageOwner { get; init; }

    /// <summary>Whether the node can serve now (a cluster node: in touch with a quorum); null: always, once open.</summary>
    public Func<bool>? Serving { get; init; }
}
