using Kv4.Cluster;
using Kv4.Cluster.Routing;
using Kv4.Engine;
using Kv4.Services.Paging;
using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Services;
using Kv4.Services.Api;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Hosting;

/// <summary>
/// The production composition: opens the <see cref="Kv4Store"/> in the configured data directory and builds the
/// <see cref="Kv4Runtime"/> on it from the host's options. Services registered in DI as <see cref="IApiService"/>
/// are added to the catalog too.
/// </summary>
public sealed class StoreServiceRuntimeFactory(IOptions<Kv4Options> options, ServerSecrets secrets, IEnumerable<IApiService> extraServices,
    JwtSigningKey jwt, Microsoft.AspNetCore.Hosting.Server.IServer server, Kv4.Server.Metrics.CommitMetrics commitMetrics,
    Kv4.Server.Metrics.ApiMetrics apiMetrics, ILoggerFactory loggerFactory, IHostApplicationLifetime application)
    : IServiceRuntimeFactory
{
    public async Task<Kv4Runtime> OpenAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var store = OpenStore(o, commitMetrics);
        ClusterNode? node = null;
        try
        {
            var settings = Settings(o, secrets, jwt, server, extraServices);
            if (o.Cluster.IsConfigured)
            {
                node = await StartClusterNodeAsync(o, store, cancellationToken);
                var clustered = node;
                settings = settings with
                {
                    Storage = new ClusterStore(node), Cluster = new ClusterView(node), StorageOwner = node, Serving = () => clustered.Ready,
                    Realtime = settings.Realtime with
                    {
                        SignalRelay = (hub, presence) => new Kv4.Cluster.Realtime.ClusterSignalRelay(clustered, hub, presence, loggerFactory),
                        Hosts = new Kv4.Cluster.Realtime.ClusterHostDirectory(clustered),
                    },
                };
            }
            if (node is null) return await Kv4Runtime.CreateAsync(store, settings, cancellationToken);
            var runtime = await CreateThroughFailoversAsync(store, settings, cancellationToken);
            node.Load = LoadOf(runtime);
            return runtime;
        }
        catch
        {
            if (node is not null) await node.DisposeAsync();
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Joins the cluster and waits (as long as it takes: `/healthz` answers meanwhile, `/readyz` does not) until this node
    /// is in touch with a quorum, since the services read the store as they start.
    /// </summary>
    private async Task<ClusterNode> StartClusterNodeAsync(Kv4Options o, Kv4Store store, CancellationToken cancellationToken)
    {
        // Heartbeats, leases and replication run on the thread pool; a pool that grows by one thread a second under a
        // burst would let a lease lapse. A cluster node starts with room for them.
        ThreadPool.GetMinThreads(out var workers, out var completion);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), completion);
        var shared = o.Cluster.Secret ?? secrets.SystemSecret;
        PageCursor.UseSharedKey(shared);
        var clusterOptions = o.Cluster.ToOptions(o.DataDirFullPath, shared, o.Node.PublicUrl);
        var node = await ClusterNode.StartAsync(clusterOptions, store, loggerFactory, cancellationToken);
        node.Removed += application.StopApplication;
        while (!node.Ready)
        {
            try
            {
                await node.StateChangeAsync(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await node.DisposeAsync();
                throw;
            }
        }
        return node;
    }

    /// <summary>
    /// The services read and write the store as they start (keys, the deny lists, presence left by a crash): on a
    /// cluster that is starting, a partition may change primary under such a call, which then answers unavailable.
    /// Building the runtime again is safe (each step looks before it writes), so it is, until it succeeds.
    /// </summary>
    private async Task<Kv4Runtime> CreateThroughFailoversAsync(Kv4Store store, RuntimeSettings settings, CancellationToken cancellationToken)
    {
        var log = loggerFactory.CreateLogger<StoreServiceRuntimeFactory>();
        while (true)
        {
            try
            {
                return await Kv4Runtime.CreateAsync(store, settings, cancellationToken);
            }
            catch (Kv4.Engine.Rules.EngineException e) when (e.Error == Kv4.Engine.Rules.EngineError.Unavailable && !cancellationToken.IsCancellationRequested)
            {
                log.LogWarning("the cluster could not serve the services' start ({Reason}); trying again", e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
    }

    /// <summary>What a node's heartbeat reports: its open sockets and watches, and its requests per second since the last beat.</summary>
    private Func<(long Sockets, double RequestsPerSecond)> LoadOf(Kv4Runtime runtime)
    {
        var last = (Count: apiMetrics.Answered, AtMs: Environment.TickCount64);
        return () =>
        {
            var now = (Count: apiMetrics.Answered, AtMs: Environment.TickCount64);
            var rate = now.AtMs > last.AtMs ? (now.Count - last.Count) * 1000.0 / (now.AtMs - last.AtMs) : 0;
            last = now;
            return (runtime.Realtime.Hub.ConnectionCount + runtime.Connections.Count, rate);
        };
    }

    public static Kv4Store OpenStore(Kv4Options o, Kv4.Server.Metrics.CommitMetrics? commitMetrics = null)
    {
        DataDirectorySecret.EnsureDataDirectory(o.DataDirFullPath);
        return Kv4Store.Open(StoreOptionsOf(o, commitMetrics));
    }

    /// <summary>The engine's options from the host's: the store a server opens, and the one a restore builds.</summary>
    public static StoreOptions StoreOptionsOf(Kv4Options o, Kv4.Server.Metrics.CommitMetrics? commitMetrics = null) =>
        new()
        {
            DataDirectory = o.DataDirFullPath,
            Durability = o.Durability,
            CommitIntervalMs = o.CommitIntervalMs,
            MaxValueBytes = o.Api.MaxValueBytes,
            LogSegmentSizeMB = o.Log.SegmentSizeMB,
            Retention = o.Retention.ToPolicy(out _) ?? Kv4.Engine.Retention.RetentionPolicy.Standard,
            CommitObserved = commitMetrics is null ? null : commitMetrics.Observe,
            Replicated = o.Cluster.IsConfigured,
            PartitionCount = o.Cluster.IsConfigured ? o.Cluster.Partitions : 64,
        };

    /// <summary>The runtime's settings from the host's options; tests start from these and swap in their fakes.</summary>
    public static RuntimeSettings Settings(Kv4Options o, ServerSecrets secrets, JwtSigningKey jwt,
        Microsoft.AspNetCore.Hosting.Server.IServer server, IEnumerable<IApiService>? extraServices = null) => new()
    {
        Core = new ServiceSettings { SystemSecret = secrets.SystemSecret, Login = o.Login },
        Platform = new PlatformSettings { Turn = o.Turn, External = o.External, Stats = o.Stats },
        Realtime = new RealtimeSettings
        {
            NodeId = o.Node.Id ?? Environment.MachineName.ToLowerInvariant(),
            // Without a configured public URL, `_host` answers the address this server listens on (known once it runs).
            PublicUrl = () => o.Node.PublicUrl
                ?? server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? Kv4ServerApp.DefaultUrl,
            Signal = o.Signal,
            Sessions = o.Sessions,
        },
        Signing = jwt.Credentials,
        Validation = jwt.ValidationParameters(),
        ExtraServices = extraServices ?? [],
    };
}
