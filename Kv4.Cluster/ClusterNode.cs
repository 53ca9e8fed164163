using System.Collections.Concurrent;
using System.Net;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Control;
using Kv4.Cluster.Realtime;
using Kv4.Cluster.Replication;
using Kv4.Cluster.Routing;
using Kv4.Cluster.Transport;
using Kv4.Engine;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster;

/// <summary>
/// One node of a Kv4 cluster: the cluster port (<see cref="ClusterListener"/>), the node bus, the control plane
/// (Raft) and its <see cref="Controller"/> when this node leads it, the partition roles and replication, and the
/// store calls it answers for the partitions it leads. The server builds one when <c>Kv4:Cluster:*</c> is set and
/// gives its services <see cref="Store"/>, which routes every call to the partition's primary.
/// <code>
///   request ─▶ services ─▶ ClusterStore ─┬─ partition led here ──▶ LocalPartitions ─▶ Kv4Store (+ wait for acknowledgement)
///                                        └─ led by n2 ── bus ─▶ n2: LocalPartitions ─▶ ...
///   every 200 ms: heartbeat ─▶ every member; the leader's answer renews this node's lease
/// </code>
/// </summary>
public sealed class ClusterNode : IBusHandler, IAsyncDisposable
{
    private readonly ClusterOptions _options;
    private readonly Kv4Store _engine;
    private readonly ILogger _logger;
    private readonly NodeBus _bus;
    private readonly ClusterListener _listener;
    private readonly ControlPlane _plane;
    private readonly NodeLease _lease;
    private readonly PartitionRoles _roles;
    private readonly Controller _controller;
    private readonly LocalPartitions _local;
    private readonly ConcurrentDictionary<string, Heartbeat> _heard = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task _heartbeats = Task.CompletedTask;
    private Task _joining = Task.CompletedTask;
    private bool _wasMember;

    private ClusterNode(ClusterOptions options, Kv4Store engine, ILoggerFactory loggerFactory)
    {
        options.Validate();
        if (engine.Replication is not { } replication) throw new ArgumentException("a cluster node needs a replicated store (StoreOptions.Replicated)");
        if (engine.PartitionCount != options.PartitionCount) throw new ArgumentException("the store's partition count differs from the cluster's");
        _options = options;
        _engine = engine;
        _logger = loggerFactory.CreateLogger("Kv4.Cluster");
        var key = ClusterKey.FromText(options.Secret);
        var connectTimeout = TimeSpan.FromMilliseconds(Math.Min(1000, options.RequestTimeout.TotalMilliseconds));
        _bus = new NodeBus(key, options.Name, EndpointOf, connectTimeout, loggerFactory.CreateLogger("Kv4.Cluster.Bus"));
        _listener = new ClusterListener(options.Listen, key, options.Name, _bus.AcceptAsync, loggerFactory.CreateLogger("Kv4.Cluster.Port"));
        _plane = new ControlPlane(options, new RaftTransport(_listener, key, options.Name, connectTimeout), _bus, loggerFactory);
        _lease = new NodeLease(options.Lease);
        _roles = new PartitionRoles(replication, _bus, _plane, options, loggerFactory);
        replication.Observe(_roles);
        _controller = new Controller(options, _plane, _bus, loggerFactory);
        _local = new LocalPartitions(engine, _roles, _lease, _plane, options);
        _plane.StateChanged += OnStateChanged;
        _bus.Attach(this);
    }

    /// <summary>Starts the node: the cluster port listens, the control plane runs, a joining node asks to be let in.</summary>
    public static async Task<ClusterNode> StartAsync(ClusterOptions options, Kv4Store engine, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var node = new ClusterNode(options, engine, loggerFactory);
        try
        {
            await node._plane.StartAsync(cancellationToken).ConfigureAwait(false);
            node._heartbeats = Task.Run(node.HeartbeatLoopAsync, CancellationToken.None);
            if (options.Join is { } join) node._joining = Task.Run(() => node.JoinLoopAsync(join), CancellationToken.None);
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public string Name => _options.Name;

    public ClusterOptions Options => _options;

    public ClusterState State => _plane.State;

    public string? Leader => _plane.LeaderName;

    /// <summary>Raised once this node has been removed from the cluster (a decommission finished): the host stops.</summary>
    public event Action? Removed;

    /// <summary>Raised when another node says a cached layer changed (see <see cref="Invalidate"/>).</summary>
    public event Action<string, string>? Invalidated;

    /// <summary>The latest heartbeat heard from each node (this one's own included): load and how far each partition is.</summary>
    public IReadOnlyDictionary<string, Heartbeat> Heard => _heard;

    /// <summary>The load this node reports in its heartbeats (open sockets, requests per second), set by the host.</summary>
    public Func<(long Sockets, double RequestsPerSecond)> Load { get; set; } = () => (0, 0);

    /// <summary>Whether this node can serve: it knows the state, a leader, and holds its lease (it is in touch with a quorum).</summary>
    public bool Ready => _plane.State.IsBootstrapped && _plane.State.Member(Name) is not null && _lease.IsValid(_plane.AppliedVersion);

    /// <summary>Marks a member as leaving: its partitions move away, then it is removed. False if the control plane did not take it.</summary>
    public async Task<bool> DecommissionAsync(string name, CancellationToken cancellationToken)
    {
        if (_plane.State.Member(name) is not { } member) return false;
        if (member.State == MemberState.Leaving) return true;
        return await _plane.ProposeAsync(new SetMemberState { Name = name, State = MemberState.Leaving, Expected = member.State }, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Tells every node that a cached layer of a bucket changed.</summary>
    public async Task InvalidateAsync(string bucket, string layer)
    {
        var notice = new Invalidate { Bucket = bucket, Layer = layer };
        foreach (var member in _plane.State.Members)
            if (member.Name != Name) await _bus.PostAsync(member.Name, notice).ConfigureAwait(false);
    }

    /// <summary>Signal channels across the nodes, once the server's realtime part is built (it attaches itself).</summary>
    internal ClusterSignalRelay? SignalRelay { get; set; }

    internal LocalPartitions Local => _local;

    internal NodeBus Bus => _bus;

    internal ControlPlane Plane => _plane;

    internal PartitionRoles Roles => _roles;

    private EndPoint? EndpointOf(string name)
    {
        if (_plane.State.Member(name) is { } member && NodeEndpoints.TryParse(member.Endpoint, out var endpoint)) return endpoint;
        foreach (var (initial, at) in _options.Initial)
            if (initial == name) return at;
        return null;
    }

    private TaskCompletionSource _stateMoved = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next change of the control-plane state, or after <paramref name="atMost"/>.</summary>
    public async Task StateChangeAsync(TimeSpan atMost, CancellationToken cancellationToken)
    {
        var moved = Volatile.Read(ref _stateMoved).Task;
        await Task.WhenAny(moved, Task.Delay(atMost, cancellationToken)).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Completes once a partition's primary differs from <paramref name="primaries"/> (or on cancellation).</summary>
    public async Task WhenPrimariesDifferAsync(string?[] primaries, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = _plane.State;
            if (now.Partitions.Length != primaries.Length || now.Partitions.Where((p, i) => p.Primary != primaries[i]).Any()) return;
            await StateChangeAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private void OnStateChanged(ClusterState state)
    {
        Interlocked.Exchange(ref _stateMoved, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        if (state.Member(Name) is not null) _wasMember = true;
        else if (_wasMember)
        {
            _wasMember = false;
            _logger.LogWarning("cluster: {Node} was removed from the cluster", Name);
            ThreadPool.QueueUserWorkItem(_ => Removed?.Invoke());
        }
        SignalRelay?.StateChanged(state);
    }

    private async Task HeartbeatLoopAsync()
    {
        var token = _stopping.Token;
        var nextSweep = Environment.TickCount64;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.HeartbeatInterval, token).ConfigureAwait(false);
                var (sockets, rps) = Load();
                var sequences = new long[_engine.PartitionCount];
                for (var p = 0; p < sequences.Length; p++) sequences[p] = _engine.Replication!.Sequence(p);
                var heartbeat = new Heartbeat
                {
                    Node = Name, Url = _options.PublicUrl, Sockets = sockets, RequestsPerSecond = rps, Sequences = sequences,
                    Endpoint = NodeEndpoints.Format(_options.Listen),
                };
                _heard[Name] = heartbeat;
                var sentAt = Environment.TickCount64;
                var leader = _plane.LeaderName;
                if (leader == Name)
                {
                    _controller.Heard(heartbeat);
                    if (_plane.IsLeader && _controller.ConfirmedSince(sentAt - (long)_options.HeartbeatInterval.TotalMilliseconds * 2))
                        _lease.Renew(sentAt - (long)_options.HeartbeatInterval.TotalMilliseconds * 2, _plane.State.Version);
                }
                foreach (var member in _plane.State.Members)
                {
                    if (member.Name == Name) continue;
                    _ = SendHeartbeatAsync(member.Name, heartbeat, sentAt, member.Name == leader, token);
                }
                if (Environment.TickCount64 >= nextSweep)
                {
                    _local.SweepFeeds(TimeSpan.FromSeconds(60));
                    nextSweep = Environment.TickCount64 + 10_000;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "cluster: heartbeat round failed");
            }
        }
    }

    private async Task SendHeartbeatAsync(string to, Heartbeat heartbeat, long sentAt, bool toLeader, CancellationToken token)
    {
        try
        {
            var reply = await _bus.CallAsync<HeartbeatReply>(to, heartbeat, _options.Lease, token).ConfigureAwait(false);
            if (toLeader && reply.Leader) _lease.Renew(sentAt, reply.StateVersion);
        }
        catch (Exception e) when (e is BusCallException or OperationCanceledException)
        {
        }
    }

    private async Task JoinLoopAsync(EndPoint member)
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested && _plane.State.Member(Name) is null)
        {
            try
            {
                var answer = await _bus.CallEndpointAsync<Proposed>(member, new JoinRequest
                {
                    Name = Name, Endpoint = NodeEndpoints.Format(_options.Listen), Url = _options.PublicUrl,
                }, TimeSpan.FromSeconds(30), token).ConfigureAwait(false);
                if (answer.Applied)
                {
                    _logger.LogInformation("cluster: {Node} joined through {Member}", Name, member);
                    return;
                }
                _logger.LogInformation("cluster: joining through {Member}: {Reason}", member, answer.Reason);
            }
            catch (BusCallException e)
            {
                _logger.LogInformation("cluster: joining through {Member} failed: {Reason}", member, e.Message);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    async ValueTask<BusMessage> IBusHandler.HandleAsync(string peer, BusMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case Heartbeat heartbeat:
                _heard[heartbeat.Node] = heartbeat;
                return _plane.IsLeader ? _controller.Answer(heartbeat) : new HeartbeatReply { Leader = false, StateVersion = _plane.State.Version };
            case Propose propose:
                if (!_plane.IsLeader) return new Proposed { Reason = "not the leader" };
                var applied = await _plane.ProposeAsLeaderAsync(ClusterCommand.Deserialize(propose.Command), cancellationToken).ConfigureAwait(false);
                return new Proposed { Applied = applied, StateVersion = _plane.State.Version };
            case JoinRequest join:
                if (_plane.IsLeader) return await _controller.JoinAsync(join, cancellationToken).ConfigureAwait(false);
                if (_plane.LeaderName is not { } leader || leader == Name) throw new BusCallException(BusFault.Unavailable, "no leader to take the join");
                return await _bus.CallAsync<Proposed>(leader, join, TimeSpan.FromSeconds(25), cancellationToken).ConfigureAwait(false);
            case Fence fence:
                return await _roles.FenceAsync(fence, cancellationToken).ConfigureAwait(false);
            case SyncBackup sync:
                return await _roles.SyncAsync(peer, sync, cancellationToken).ConfigureAwait(false);
            case Replicate replicate:
                return await _roles.ApplyAsync(peer, replicate, cancellationToken).ConfigureAwait(false);
            case RebaseBackup rebase:
                return await _roles.RebaseAsync(peer, rebase, cancellationToken).ConfigureAwait(false);
            case StoreGet get:
                return _local.Get(get);
            case StoreReadRecords readRecords:
                return await _local.ReadRecordsAsync(readRecords, Name).ConfigureAwait(false);
            case StoreGetBySecondary bySecondary:
                return _local.GetBySecondary(bySecondary);
            case StoreGetSecondaryKeys secondaryKeys:
                return _local.GetSecondaryKeys(secondaryKeys);
            case StoreListKeys listKeys:
                return _local.ListKeys(listKeys);
            case StoreListPaths listPaths:
                return _local.ListPaths(listPaths);
            case StoreGetAt getAt:
                return await _local.GetAtAsync(getAt, cancellationToken).ConfigureAwait(false);
            case StoreListKeysAt listKeysAt:
                return await _local.ListKeysAtAsync(listKeysAt, cancellationToken).ConfigureAwait(false);
            case StoreListPathsAt listPathsAt:
                return await _local.ListPathsAtAsync(listPathsAt, cancellationToken).ConfigureAwait(false);
            case StoreListLayers listLayers:
                return _local.ListLayers(listLayers);
            case StoreListBuckets listBuckets:
                return _local.ListBuckets(listBuckets);
            case StorePut put:
                return await _local.PutAsync(put, cancellationToken).ConfigureAwait(false);
            case StoreDelete delete:
                return await _local.DeleteAsync(delete, cancellationToken).ConfigureAwait(false);
            case StoreDeleteTree deleteTree:
                return await _local.DeleteTreeAsync(deleteTree, cancellationToken).ConfigureAwait(false);
            case StoreDropBucket dropBucket:
                return await _local.DropBucketAsync(dropBucket, cancellationToken).ConfigureAwait(false);
            case StoreHistory history:
                return await _local.HistoryAsync(history, cancellationToken).ConfigureAwait(false);
            case StoreCursor cursor:
                return _local.Positions(cursor);
            case FeedOpen open:
                return _local.OpenFeed(open);
            case FeedNext next:
                return await _local.NextAsync(next, cancellationToken).ConfigureAwait(false);
            case FeedClose close:
                return _local.CloseFeed(close);
            case SignalSnapshotRequest or SignalKick when SignalRelay is IBusHandler signal:
                return await signal.HandleAsync(peer, request, cancellationToken).ConfigureAwait(false);
            default:
                throw new BusCallException(BusFault.Internal, $"no handler for {request.GetType().Name}");
        }
    }

    void IBusHandler.Notice(string peer, BusMessage notice)
    {
        if (notice is Invalidate invalidate) Invalidated?.Invoke(invalidate.Bucket, invalidate.Layer);
        else if (notice is SignalBatch && SignalRelay is IBusHandler signal) signal.Notice(peer, notice);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        try { await Task.WhenAll(_heartbeats, _joining).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        if (SignalRelay is { } relay) await relay.DisposeAsync().ConfigureAwait(false);
        await _controller.DisposeAsync().ConfigureAwait(false);
        await _roles.DisposeAsync().ConfigureAwait(false);
        await _plane.DisposeAsync().ConfigureAwait(false);
        await _bus.DisposeAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
    }
}
