using System.Collections.Concurrent;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Transport;
using Kv4.Engine.Partitioning;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Control;

/// <summary>
/// What the control plane's leader decides, every heartbeat interval, from the heartbeats it hears and the state:
/// <list type="number">
/// <item>bootstrap a new cluster (the founding members, the ring's placement, every replica in sync);</item>
/// <item>members up or down (down: no heartbeat for <see cref="ClusterOptions.FailureTimeout"/>);</item>
/// <item>a partition whose primary is down gets the most advanced in-sync replica that is up, in a new epoch, after
/// fencing the candidates (<see cref="PromoteAsync"/>); down members leave in-sync sets;</item>
/// <item>placement follows the ring over the members that are not leaving: a missing replica is added (it catches
/// up from the primary), a primary off its place hands over to an in-sync replica on it, surplus replicas go;</item>
/// <item>a leaving member that holds nothing is removed.</item>
/// </list>
/// Every change is a conditional command: if the state moved meanwhile it is refused and decided again next round.
/// </summary>
internal sealed class Controller : IAsyncDisposable
{
    private const int MaxConcurrentMoves = 8;

    private readonly ClusterOptions _options;
    private readonly ControlPlane _plane;
    private readonly NodeBus _bus;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, long> _lastSeen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Heartbeat> _latest = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private readonly HashSet<System.Net.EndPoint> _leavingVoters = new(NodeEndpoints.Comparer);
    private long _confirmedAtMs = long.MinValue;
    private long _leadingSinceMs;

    /// <summary>How long founding members have, from the bootstrap, before the failure timeout applies (they start at once, on busy machines).</summary>
    private static readonly TimeSpan StartupGrace = TimeSpan.FromSeconds(5);
    private bool _leading;
    private readonly Placement _placement = new();

    public Controller(ClusterOptions options, ControlPlane plane, NodeBus bus, ILoggerFactory loggerFactory)
    {
        _options = options;
        _plane = plane;
        _bus = bus;
        _logger = loggerFactory.CreateLogger("Kv4.Cluster.Controller");
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The latest heartbeat of each node this leader heard (load, how far each partition is).</summary>
    public IReadOnlyDictionary<string, Heartbeat> Heartbeats => _latest;

    /// <summary>A node's heartbeat, here at the leader: renews its lease if this node still leads with a quorum.</summary>
    public HeartbeatReply Answer(Heartbeat heartbeat)
    {
        Heard(heartbeat);
        var confirmed = Interlocked.Read(ref _confirmedAtMs) > Environment.TickCount64 - (long)_options.Lease.TotalMilliseconds;
        return new HeartbeatReply { Leader = _plane.IsLeader && confirmed, StateVersion = _plane.State.Version };
    }

    public void Heard(Heartbeat heartbeat)
    {
        _lastSeen[heartbeat.Node] = Environment.TickCount64;
        _latest[heartbeat.Node] = heartbeat;
    }

    /// <summary>The leader confirmed its leadership with a quorum since <paramref name="sinceMs"/>.</summary>
    public bool ConfirmedSince(long sinceMs) => Interlocked.Read(ref _confirmedAtMs) >= sinceMs;

    /// <summary>A node asks to join (here, at the leader): it enters the Raft group, then the state as joining.</summary>
    public async Task<Proposed> JoinAsync(JoinRequest join, CancellationToken cancellationToken)
    {
        if (!NodeEndpoints.TryParse(join.Endpoint, out var endpoint)) return new Proposed { Reason = "not an endpoint" };
        if (_plane.State.Member(join.Name) is { } existing && existing.Endpoint != NodeEndpoints.Format(endpoint) && existing.State != MemberState.Down)
            return new Proposed { Reason = $"{join.Name} is a member at {existing.Endpoint}" };
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (await _plane.AddVoterAsync(endpoint, cancellationToken).ConfigureAwait(false)) break;
            if (attempt == 4) return new Proposed { Reason = "the Raft group did not take the node in" };
            await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), cancellationToken).ConfigureAwait(false);
        }
        var member = new MemberRecord { Name = join.Name, Endpoint = NodeEndpoints.Format(endpoint), Url = join.Url, State = MemberState.Joining };
        var state = _plane.State;
        if (state.Member(join.Name) is { State: not MemberState.Leaving } current) member = member with { State = current.State };
        var applied = await _plane.ProposeAsLeaderAsync(new AddMember { Member = member }, cancellationToken).ConfigureAwait(false);
        _lastSeen[join.Name] = Environment.TickCount64;
        return new Proposed { Applied = applied, StateVersion = _plane.State.Version, Reason = applied ? null : "not applied" };
    }

    private async Task LoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.HeartbeatInterval, token).ConfigureAwait(false);
                if (!_plane.IsLeader)
                {
                    _leading = false;
                    continue;
                }
                var startedAt = Environment.TickCount64;
                if (!await _plane.ConfirmLeadershipAsync(token).ConfigureAwait(false)) continue;
                Interlocked.Exchange(ref _confirmedAtMs, startedAt);
                if (!_leading)
                {
                    // A new leader gives every member the failure timeout, plus a lease, from now: a lease the old leader
                    // granted has run out before this leader takes anything away.
                    _leading = true;
                    var grace = Environment.TickCount64 + (long)_options.Lease.TotalMilliseconds;
                    foreach (var member in _plane.State.Members) _lastSeen[member.Name] = grace;
                    _leadingSinceMs = Environment.TickCount64;
                    _logger.LogInformation("control: {Node} leads the control plane", _bus.Self);
                }
                await DecideAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "control: a round of decisions failed");
            }
        }
    }

    private async Task DecideAsync(CancellationToken token)
    {
        var state = _plane.State;
        if (!state.IsBootstrapped)
        {
            if (_options.Initial.Count > 0) await BootstrapAsync(token).ConfigureAwait(false);
            return;
        }
        var now = Environment.TickCount64;
        var timeout = (long)_options.FailureTimeout.TotalMilliseconds;
        // Just after a leader change the heartbeats of some nodes may still go to the old leader: none is declared down
        // before it had a full failure timeout (and a lease) of talking to this one.
        if (now - _leadingSinceMs < timeout + (long)_options.Lease.TotalMilliseconds) timeout = long.MaxValue;
        foreach (var member in state.Members)
        {
            var seen = _lastSeen.GetOrAdd(member.Name, now);
            var alive = now - seen <= timeout;
            var next = member.State switch
            {
                MemberState.Up or MemberState.Joining when !alive => MemberState.Down,
                MemberState.Down or MemberState.Joining when alive => MemberState.Up,
                _ => member.State,
            };
            if (next != member.State)
            {
                _logger.LogInformation("control: {Node} is {State}", member.Name, next);
                await _plane.ProposeAsLeaderAsync(new SetMemberState { Name = member.Name, State = next, Expected = member.State }, token).ConfigureAwait(false);
            }
            if (_latest.TryGetValue(member.Name, out var heartbeat) && heartbeat.Url is { } url && url != member.Url)
                await _plane.ProposeAsLeaderAsync(new AddMember { Member = member with { Url = url } }, token).ConfigureAwait(false);
        }

        state = _plane.State;
        var moving = 0;
        for (var p = 0; p < state.PartitionCount; p++)
        {
            var record = state.Partitions[p];
            if (record.Replicas.Any(r => !record.IsInSync(r) && state.IsUp(r))) moving++;
        }
        // Partitions that lost their primary are promoted all at once: each is a fence round and a command of its own,
        // and one after the other they would leave the last of a dead node's partitions unserved for a second or more.
        var lost = Enumerable.Range(0, state.PartitionCount)
            .Where(p => state.Partitions[p].Primary is not { } primary || !state.IsUp(primary)).ToHashSet();
        await Task.WhenAll(lost.Select(p => PromoteAsync(p, state.Partitions[p], preferred: null, token))).ConfigureAwait(false);
        for (var p = 0; p < state.PartitionCount; p++)
        {
            if (lost.Contains(p)) continue;
            state = _plane.State;
            var record = state.Partitions[p];
            var downInSync = record.InSync.Where(n => n != record.Primary && !state.IsUp(n)).ToList();
            if (downInSync.Count > 0)
            {
                await ChangeAsync(p, record, record with { InSync = [.. record.InSync.Except(downInSync)] }, token).ConfigureAwait(false);
                continue;
            }
            var target = Placement(state, p);
            if (target.Count == 0) continue;
            var missing = target.Where(n => !record.IsReplica(n)).ToList();
            if (missing.Count > 0)
            {
                if (moving >= MaxConcurrentMoves) continue;
                moving++;
                await ChangeAsync(p, record, record with { Replicas = [.. record.Replicas, .. missing] }, token).ConfigureAwait(false);
                continue;
            }
            if (!target.All(record.IsInSync)) continue;
            if (record.Primary != target[0])
            {
                // The ring's first node leads (so primaries spread as the ring spreads partitions): hand over to it.
                await PromoteAsync(p, record, target[0], token).ConfigureAwait(false);
                continue;
            }
            if (record.Replicas.Length > target.Count)
                await ChangeAsync(p, record, record with { Replicas = [.. target], InSync = [.. record.InSync.Where(target.Contains)] }, token).ConfigureAwait(false);
        }

        // A leaving member that holds nothing leaves the state first, so that it hears it (a node taken out of the Raft
        // group first would never learn it was removed), then the Raft group.
        state = _plane.State;
        foreach (var leaving in state.Members.Where(m => m.State == MemberState.Leaving))
        {
            if (state.Partitions.Any(r => r.IsReplica(leaving.Name))) continue;
            _logger.LogInformation("control: {Node} holds no partition any more: removing it", leaving.Name);
            if (await _plane.ProposeAsLeaderAsync(new RemoveMember { Name = leaving.Name }, token).ConfigureAwait(false)
                && NodeEndpoints.TryParse(leaving.Endpoint, out var endpoint))
                _leavingVoters.Add(endpoint);
        }
        foreach (var endpoint in _leavingVoters.ToList())
            if (await _plane.RemoveVoterAsync(endpoint, token).ConfigureAwait(false)) _leavingVoters.Remove(endpoint);
    }

    private async Task BootstrapAsync(CancellationToken token)
    {
        var count = _options.PartitionCount;
        var replicas = Math.Min(_options.Replicas ?? 3, _options.Initial.Count);
        var members = _options.Initial.Select(m => new MemberRecord { Name = m.Name, Endpoint = NodeEndpoints.Format(m.Endpoint), State = MemberState.Up }).ToArray();
        var ring = new HashRing(count);
        foreach (var member in members) ring.AddNode(member.Name);
        var partitions = new PartitionRecord[count];
        for (var p = 0; p < count; p++)
        {
            var owners = ring.OwnersOfPartition(p, replicas).ToArray();
            partitions[p] = new PartitionRecord { Epoch = 1, Config = 0, Primary = owners[0], Replicas = owners, InSync = owners };
        }
        // Founding members are still starting (and busy with it): they get the start-up grace before anyone is down.
        var now = Environment.TickCount64 + (long)StartupGrace.TotalMilliseconds;
        foreach (var member in members) _lastSeen[member.Name] = now;
        if (await _plane.ProposeAsLeaderAsync(new Bootstrap { PartitionCount = count, Replicas = replicas, Members = members, Partitions = partitions }, token)
            .ConfigureAwait(false))
            _logger.LogInformation("control: bootstrapped {Count} partitions over {Members} ({Replicas} replicas each)", count,
                string.Join(",", members.Select(m => m.Name)), replicas);
    }

    private IReadOnlyList<string> Placement(ClusterState state, int partition) => _placement.Target(state, partition);

    private async Task<bool> ChangeAsync(int p, PartitionRecord current, PartitionRecord next, CancellationToken token) =>
        await _plane.ProposeAsLeaderAsync(new SetPartition { Partition = p, ExpectedConfig = current.Config, Record = next }, token).ConfigureAwait(false);

    /// <summary>
    /// A new primary for the partition, in the next epoch. Every in-sync replica that is up is fenced first (it then
    /// takes nothing from an older epoch and says how far it is). After a loss the most advanced one leads: it holds
    /// every acknowledged write, since each was on every in-sync replica. A handoff to <paramref name="preferred"/> (the
    /// primary is up but the ring puts another in-sync replica first) fences the primary too and picks that replica,
    /// which also holds every acknowledged write. Those exactly as far as the new primary stay in sync; one further
    /// (the old primary's writes that were never acknowledged) voids the difference when it syncs, and catches up.
    /// </summary>
    private async Task PromoteAsync(int p, PartitionRecord record, string? preferred, CancellationToken token)
    {
        var state = _plane.State;
        var handoff = preferred is not null;
        var candidates = record.InSync.Where(n => state.IsUp(n) && (handoff || n != record.Primary)).ToList();
        if (candidates.Count == 0) return; // nothing that holds every acknowledged write is up: wait for one
        var epoch = record.Epoch + 1;
        async Task<(string Node, Fenced? Fenced)> FenceAsync(string node, bool drain)
        {
            try
            {
                var fenced = await _bus.CallAsync<Fenced>(node, new Fence { Partition = p, Epoch = epoch, Drain = drain }, _options.RequestTimeout, token)
                    .ConfigureAwait(false);
                return (node, fenced);
            }
            catch (BusCallException)
            {
                return (node, null);
            }
        }
        // A handoff drains the primary first, while its backups still take its records; then the others are fenced.
        var drained = handoff && record.Primary is { } old && candidates.Remove(old) ? [await FenceAsync(old, drain: true).ConfigureAwait(false)] : Array.Empty<(string Node, Fenced? Fenced)>();
        var fenced = await Task.WhenAll(candidates.Select(node => FenceAsync(node, drain: false))).ConfigureAwait(false);
        var positions = drained.Concat(fenced).Where(f => f.Fenced is not null).ToList();
        var eligible = handoff ? positions.Where(f => f.Node == preferred).ToList() : positions;
        if (eligible.Count == 0) return;
        var best = eligible.Max(f => f.Fenced!.Position);
        var order = Placement(state, p).ToList();
        var chosen = eligible.Where(f => f.Fenced!.Position == best).OrderBy(f => order.IndexOf(f.Node) is var i && i < 0 ? int.MaxValue : i).First().Node;
        var inSync = positions.Where(f => f.Fenced!.Position == best).Select(f => f.Node).ToArray();
        var next = record with { Epoch = epoch, Primary = chosen, InSync = inSync };
        if (await ChangeAsync(p, record, next, token).ConfigureAwait(false))
            _logger.LogInformation("control: partition {Partition} epoch {Epoch}: {Primary} leads ({Why}), in sync {InSync}", p, epoch, chosen,
                handoff ? "handoff" : $"{record.Primary ?? "none"} lost", string.Join(",", inSync));
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }
}
