using System.Net;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Transport;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Control;

/// <summary>
/// The control plane as this node takes part in it: a member of an embedded Raft group (DotNext.Net.Cluster: its
/// write-ahead log under "cluster/", its messages on the cluster port) whose state machine is the
/// <see cref="ClusterState"/>. Any node may propose a command; only the leader can replicate one, so a follower
/// forwards it over the bus (DotNext's transport has no redirect).
/// </summary>
internal sealed class ControlPlane : IAsyncDisposable
{
    private readonly ClusterOptions _options;
    private readonly ClusterStateMachine _stateMachine;
    private readonly MembershipStorage _membership;
    private readonly RaftTransport _transport;
    private readonly NodeBus _bus;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private WriteAheadLog? _wal;
    private RaftCluster? _raft;

    public ControlPlane(ClusterOptions options, RaftTransport transport, NodeBus bus, ILoggerFactory loggerFactory)
    {
        _options = options;
        _transport = transport;
        _bus = bus;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Kv4.Cluster.Control");
        var root = Path.Combine(options.DataDirectory, "cluster");
        Directory.CreateDirectory(root);
        _stateMachine = new ClusterStateMachine(new DirectoryInfo(Path.Combine(root, "state")));
        _membership = new MembershipStorage(Path.Combine(root, "members"));
        _stateMachine.Changed += state => StateChanged?.Invoke(state);
    }

    public ClusterState State => _stateMachine.Current;

    /// <summary>After each applied command (on Raft's apply loop: handlers hand the work off).</summary>
    public event Action<ClusterState>? StateChanged;

    /// <summary>Raised when the leader changes (null: none known).</summary>
    public event Action<string?>? LeaderChanged;

    public bool IsLeader => _raft is { } raft && !raft.LeadershipToken.IsCancellationRequested;

    /// <summary>Cancelled when this node stops leading.</summary>
    public CancellationToken LeadershipToken => _raft?.LeadershipToken ?? new CancellationToken(true);

    public string? LeaderName => _raft?.Leader is { } leader ? NameOf(leader.EndPoint) : null;

    /// <summary>The Raft log's last applied index on this node (what the leader's heartbeat answer is compared with).</summary>
    public long AppliedVersion => State.Version;

    public string? NameOf(EndPoint endpoint)
    {
        var text = NodeEndpoints.Format(endpoint);
        if (State.MemberAt(text) is { } member) return member.Name;
        foreach (var (name, at) in _options.Initial)
            if (NodeEndpoints.Format(at) == text) return name;
        return NodeEndpoints.Format(_options.Listen) == text ? _options.Name : null;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _stateMachine.RestoreAsync(cancellationToken).ConfigureAwait(false);
        _wal = new WriteAheadLog(new WriteAheadLog.Options { Location = Path.Combine(_options.DataDirectory, "cluster", "wal") }, _stateMachine);
        await _wal.InitializeAsync(cancellationToken).ConfigureAwait(false);

        // A first boot of a founding member writes the founding membership; a joining node starts with none and
        // waits, doing nothing, until a member adds it (with ColdStart off, a node with no members never crowns itself).
        IClusterConfigurationStorage<EndPoint> membership = _membership;
        var configuration = await membership.LoadConfigurationAsync(cancellationToken).ConfigureAwait(false);
        if (configuration.Members.Count == 0 && _options.Initial.Count > 0)
        {
            foreach (var (_, endpoint) in _options.Initial) configuration = configuration.Add(endpoint);
            await membership.SaveConfigurationAsync(configuration, 0L, cancellationToken).ConfigureAwait(false);
        }

        var config = new RaftCluster.CustomTransportConfiguration(_options.Listen, _transport, _transport)
        {
            LowerElectionTimeout = _options.ElectionTimeoutLowerMs,
            UpperElectionTimeout = _options.ElectionTimeoutUpperMs,
            RequestTimeout = TimeSpan.FromMilliseconds(Math.Max(1000, _options.ElectionTimeoutUpperMs * 2)),
            ConnectTimeout = TimeSpan.FromMilliseconds(_options.ElectionTimeoutLowerMs),
            ColdStart = false,
            ConfigurationStorage = _membership,
            LoggerFactory = _loggerFactory,
        };
        _raft = new RaftCluster(config) { AuditTrail = _wal };
        _raft.LeaderChanged += (_, leader) => LeaderChanged?.Invoke(leader is null ? null : NameOf(leader.EndPoint));
        await _raft.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Proposes a command and answers whether it changed the state (false: refused because what it was decided on has
    /// changed, or its outcome is unknown). Through the leader, wherever it is.
    /// </summary>
    public async Task<bool> ProposeAsync(ClusterCommand command, CancellationToken cancellationToken)
    {
        if (IsLeader) return await ProposeAsLeaderAsync(command, cancellationToken).ConfigureAwait(false);
        if (LeaderName is not { } leader || leader == _options.Name) return false;
        try
        {
            var answer = await _bus.CallAsync<Proposed>(leader, new Propose { Command = command.Serialize() }, _options.RequestTimeout, cancellationToken)
                .ConfigureAwait(false);
            return answer.Applied;
        }
        catch (BusCallException)
        {
            return false;
        }
    }

    /// <summary>On the leader: replicates the command and answers its outcome here.</summary>
    public async Task<bool> ProposeAsLeaderAsync(ClusterCommand command, CancellationToken cancellationToken)
    {
        if (_raft is not { } raft || !IsLeader) return false;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, raft.LeadershipToken);
            deadline.CancelAfter(_options.RequestTimeout);
            await raft.ReplicateAsync(command.Serialize(), null, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or NotLeaderException or QuorumUnreachableException)
        {
            _logger.LogDebug("control: {Command} not replicated: {Reason}", command.GetType().Name, e.Message);
            return false;
        }
        return _stateMachine.TryGetOutcome(command.Id, out var refusal) && refusal is null;
    }

    /// <summary>On the leader: whether it still leads with a quorum behind it (a heartbeat round).</summary>
    public async Task<bool> ConfirmLeadershipAsync(CancellationToken cancellationToken)
    {
        if (_raft is not { } raft || !IsLeader) return false;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, raft.LeadershipToken);
            deadline.CancelAfter(_options.Lease);
            await raft.ApplyReadBarrierAsync(deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or NotLeaderException or QuorumUnreachableException)
        {
            return false;
        }
    }

    /// <summary>On the leader: adds a node to the Raft group (retried by the caller; it times out under load).</summary>
    public async Task<bool> AddVoterAsync(EndPoint endpoint, CancellationToken cancellationToken)
    {
        if (_raft is not { } raft || !IsLeader) return false;
        if (raft.Members.Any(m => NodeEndpoints.Comparer.Equals(m.EndPoint, endpoint))) return true;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, raft.LeadershipToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            return await raft.AddMemberAsync(endpoint, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or NotLeaderException or QuorumUnreachableException)
        {
            _logger.LogInformation("control: adding {Endpoint} to the Raft group did not finish: {Reason}", endpoint, e.Message);
            return false;
        }
    }

    public async Task<bool> RemoveVoterAsync(EndPoint endpoint, CancellationToken cancellationToken)
    {
        if (_raft is not { } raft || !IsLeader) return false;
        if (!raft.Members.Any(m => NodeEndpoints.Comparer.Equals(m.EndPoint, endpoint))) return true;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, raft.LeadershipToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            return await raft.RemoveMemberAsync(endpoint, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or NotLeaderException or QuorumUnreachableException)
        {
            return false;
        }
    }

    /// <summary>The endpoints of the Raft group as this node knows it.</summary>
    public IReadOnlyList<EndPoint> Voters => _raft?.Members.Select(m => m.EndPoint).ToList() ?? [];

    public async ValueTask DisposeAsync()
    {
        if (_raft is { } raft)
        {
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await raft.StopAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
            await raft.DisposeAsync().ConfigureAwait(false);
        }
        if (_wal is { } wal) await wal.DisposeAsync().ConfigureAwait(false);
        await _stateMachine.DisposeAsync().ConfigureAwait(false);
        _membership.Dispose();
    }
}
