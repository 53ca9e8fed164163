using System.Collections.Concurrent;
using System.Threading.Channels;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Control;
using Kv4.Services.Signal;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Realtime;

/// <summary>
/// Signal channels across the cluster (docs/cluster.md "Realtime across nodes"). Every node orders the events of its
/// own members and sends them on the node bus: joins and leaves to every other live node, a broadcast to the nodes
/// that have members of its channel, a direct message to the addressee's node. A node that opens a channel (its first
/// member there) asks every other node who it has there (<see cref="SignalSnapshotRequest"/>) and holds back what
/// that node sends about the channel until the answer is in. Per (sender, receiver) the events are numbered, so a
/// receiver knows which held-back events the answer already contains, and sees a lost batch as a gap (then it asks
/// again). A node the control plane declares down loses its members everywhere: each node deletes their `_subs`
/// entries and tells its own members (`peer_removed`).
/// <code>
///   n1 (alice)                          n2 (bob joins room)
///   ◀── SignalSnapshotRequest(room) ─── n2 opens room, holds n1's events for room
///   ─── SignalSnapshot(seq 41, [alice]) ▶ n2: remote alice; bob gets peers [alice, bob]
///   ◀── SignalBatch(#17 Joined bob) ─── alice gets peer_connected bob
///   ─── SignalBatch(#42 Message) ──────▶ bob gets alice's broadcast
/// </code>
/// Sending never blocks a channel: each receiver has a bounded queue and one sender task; a full queue drops the
/// event (the receiver sees the gap and asks again), so a slow node slows nobody else.
/// </summary>
public sealed class ClusterSignalRelay : ISignalRelay, IBusHandler, IAsyncDisposable
{
    /// <summary>Events waiting for one receiver.</summary>
    public const int QueueEvents = 16 * 1024;

    private const int BatchEvents = 256;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(3);

    private readonly ClusterNode _node;
    private readonly SignalHub _hub;
    private readonly PresenceRecorder _presence;
    private readonly ILogger _log;
    private readonly long _incarnation = Random.Shared.NextInt64(1, long.MaxValue);
    private readonly ConcurrentDictionary<string, Outbox> _outboxes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    // Inbound, under _gate: per sender its process and the last event number heard; the events held back per
    // (bucket, channel, sender) while that sender's answer is awaited.
    private readonly object _gate = new();
    private readonly Dictionary<string, (long Incarnation, long Last)> _heard = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Bucket, string Channel, string Node), List<(long Seq, SignalEvent Event)>> _held = new();
    private HashSet<string> _live = new(StringComparer.Ordinal);

    public ClusterSignalRelay(ClusterNode node, SignalHub hub, PresenceRecorder presence, ILoggerFactory loggerFactory)
    {
        _node = node;
        _hub = hub;
        _presence = presence;
        _log = loggerFactory.CreateLogger("Kv4.Cluster.Signal");
        _live = LiveOthers(node.State);
        node.SignalRelay = this;
    }

    public string Node => _node.Name;

    private HashSet<string> LiveOthers(ClusterState state) =>
        state.Members.Where(m => m.Name != _node.Name && m.State != MemberState.Down).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);

    public void Publish(SignalEvent signal, IReadOnlyList<string>? nodes)
    {
        var wire = new SignalWireEvent
        {
            Kind = (byte)signal.Kind, Bucket = signal.Bucket, Channel = signal.Channel, User = signal.User, Connection = signal.Connection,
            ConnectedAtMs = signal.ConnectedAtMs, Frame = signal.Frame.IsEmpty ? null : signal.Frame.ToArray(), To = signal.To,
        };
        foreach (var target in nodes ?? (IReadOnlyCollection<string>)Volatile.Read(ref _live))
            if (target != _node.Name) OutboxOf(target).Enqueue(wire);
    }

    private Outbox OutboxOf(string target) => _outboxes.GetOrAdd(target, name => new Outbox(this, name));

    public async Task OpenChannelAsync(string bucket, string channel)
    {
        string[] others;
        lock (_gate)
        {
            others = [.. _live];
            foreach (var other in others) _held.TryAdd((bucket, channel, other), []);
        }
        await Task.WhenAll(others.Select(other => CatchUpAsync(bucket, channel, other))).ConfigureAwait(false);
    }

    /// <summary>Asks <paramref name="other"/> for its members of the channel, then lets its held-back events through.</summary>
    private async Task CatchUpAsync(string bucket, string channel, string other)
    {
        SignalSnapshot? snapshot = null;
        try
        {
            snapshot = await _node.Bus.CallAsync<SignalSnapshot>(other, new SignalSnapshotRequest { Bucket = bucket, Channel = channel }, AskTimeout,
                _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BusCallException or OperationCanceledException)
        {
            // Down or not answering: it has no members anyone can reach; what it sends later still counts.
            _log.LogInformation("signal: {Node} did not say who is on {Channel}: {Reason}", other, channel, e.Message);
        }
        lock (_gate)
        {
            // Another catch-up of the same channel and node finished first: its answer and the events since stand.
            if (!_held.Remove((bucket, channel, other), out var held)) return;
            var after = 0L;
            if (snapshot is not null)
            {
                NoteIncarnation(other, snapshot.Incarnation);
                _hub.Reconcile(bucket, channel, other, [.. snapshot.Members.Select(m => new RemoteMember(other, m.User, m.Connection, m.ConnectedAtMs))]);
                after = snapshot.Seq;
            }
            foreach (var (seq, signal) in held)
                if (seq > after) Apply(other, signal);
        }
    }

    /// <summary>A new process on a node: the members of its last one are gone (their entries went when it started).</summary>
    private void NoteIncarnation(string other, long incarnation)
    {
        if (_heard.TryGetValue(other, out var heard) && heard.Incarnation == incarnation) return;
        if (heard.Incarnation != 0)
            foreach (var (bucket, channel, member) in _hub.RemoteMembersOf(other)) _hub.RemoveRemote(bucket, channel, member);
        _heard[other] = (incarnation, 0);
    }

    private void Receive(string sender, SignalBatch batch)
    {
        List<(string, string)>? resync = null;
        lock (_gate)
        {
            NoteIncarnation(sender, batch.Incarnation);
            foreach (var wire in batch.Events)
            {
                var heard = _heard[sender];
                if (heard.Last != 0 && wire.Seq != heard.Last + 1 && resync is null)
                {
                    // Events were lost (a full queue, a broken connection): ask again for every open channel.
                    _log.LogWarning("signal: events {From} to {To} from {Node} were lost; asking again", heard.Last + 1, wire.Seq - 1, sender);
                    resync = [.. _hub.Channels()];
                    foreach (var (bucket, channel) in resync) _held.TryAdd((bucket, channel, sender), []);
                }
                _heard[sender] = (heard.Incarnation, wire.Seq);
                var signal = new SignalEvent((SignalEventKind)wire.Kind, wire.Bucket, wire.Channel, wire.User, wire.Connection, wire.ConnectedAtMs,
                    wire.Frame, wire.To);
                if (_held.TryGetValue((wire.Bucket, wire.Channel, sender), out var held)) held.Add((wire.Seq, signal));
                else Apply(sender, signal);
            }
        }
        if (resync is not null)
            foreach (var (bucket, channel) in resync) _ = CatchUpAsync(bucket, channel, sender);
    }

    private void Apply(string sender, SignalEvent signal)
    {
        switch (signal.Kind)
        {
            case SignalEventKind.Joined: _hub.ApplyJoined(sender, signal); break;
            case SignalEventKind.Left: _hub.ApplyLeft(sender, signal); break;
            case SignalEventKind.Message: _hub.ApplyMessage(signal); break;
        }
    }

    public async Task<IReadOnlyList<(string Path, string User)>> KickElsewhereAsync(string bucket, string path, string? user, CancellationToken cancellationToken)
    {
        var kick = new SignalKick { Bucket = bucket, Path = path, User = user };
        var answers = await Task.WhenAll(Volatile.Read(ref _live).Select(async other =>
        {
            try
            {
                var kicked = await _node.Bus.CallAsync<SignalKicked>(other, kick, _node.Options.RequestTimeout, cancellationToken).ConfigureAwait(false);
                return kicked.Paths.Zip(kicked.Users).ToArray();
            }
            catch (BusCallException e)
            {
                _log.LogWarning("signal: {Node} did not take a kick on {Path}: {Reason}", other, path, e.Message);
                return [];
            }
        })).ConfigureAwait(false);
        return [.. answers.SelectMany(a => a)];
    }

    async ValueTask<BusMessage> IBusHandler.HandleAsync(string peer, BusMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case SignalSnapshotRequest ask:
            {
                // The number is read while the channel cannot change, so its events up to it are in the list and none after.
                var outbox = OutboxOf(peer);
                var (members, seq) = _hub.LocalMembers(ask.Bucket, ask.Channel, () => outbox.LastSeq);
                return new SignalSnapshot
                {
                    Incarnation = _incarnation, Seq = seq,
                    Members = [.. members.Select(m => new SignalWireMember { User = m.User, Connection = m.Connection, ConnectedAtMs = m.ConnectedAtMs })],
                };
            }
            case SignalKick kick:
            {
                var gone = await _presence.KickLocalAsync(kick.Bucket, kick.Path, kick.User, cancellationToken).ConfigureAwait(false);
                return new SignalKicked { Paths = [.. gone.Select(g => g.Path)], Users = [.. gone.Select(g => g.User)] };
            }
            default:
                throw new BusCallException(BusFault.Internal, $"no handler for {request.GetType().Name}");
        }
    }

    void IBusHandler.Notice(string peer, BusMessage notice)
    {
        if (notice is SignalBatch batch) Receive(peer, batch);
    }

    /// <summary>The control plane moved: members of nodes now down are removed; if this node is down, its members are let go.</summary>
    internal void StateChanged(ClusterState state)
    {
        var live = LiveOthers(state);
        var before = Volatile.Read(ref _live);
        var gone = before.Where(name => !live.Contains(name)).ToArray();
        var back = live.Where(name => !before.Contains(name)).ToArray();
        Volatile.Write(ref _live, live);
        foreach (var name in back)
        {
            // A node up again (restarted, or thawed after it was declared down) is asked who it has on every open
            // channel: its members were dropped here while it was down, and some of its events may have been lost.
            (string, string)[] channels;
            lock (_gate)
            {
                channels = [.. _hub.Channels()];
                foreach (var (bucket, channel) in channels) _held.TryAdd((bucket, channel, name), []);
            }
            foreach (var (bucket, channel) in channels) _ = CatchUpAsync(bucket, channel, name);
        }
        foreach (var name in gone)
        {
            lock (_gate)
            {
                _heard.Remove(name);
                foreach (var key in _held.Keys.Where(k => k.Node == name).ToArray()) _held[key].Clear();
            }
            _ = Task.Run(() => RemoveMembersOfAsync(name));
        }
        if (state.Member(_node.Name)?.State == MemberState.Down)
        {
            // The others have dropped this node's members: its sockets would talk to nobody. They reconnect elsewhere.
            _hub.CloseAll(SignalCloseReason.ServerStopping);
        }
    }

    /// <summary>
    /// A node died: its members' `_subs` entries go first (each only if still that connection's), then this node's
    /// members hear `peer_removed`. The control plane's leader also sweeps every other entry that node left.
    /// </summary>
    private async Task RemoveMembersOfAsync(string name)
    {
        var foundDownAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        try
        {
            var members = _hub.RemoteMembersOf(name);
            _log.LogInformation("signal: {Node} is down: removing its {Count} members known here", name, members.Count);
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            patience.CancelAfter(CleanupTimeout);
            foreach (var (bucket, channel, member) in members)
            {
                try
                {
                    if (await _presence.RemoveRemoteAsync(bucket, channel, member.User, name, member.Connection, patience.Token).ConfigureAwait(false))
                        _log.LogInformation("signal: deleted the entry of {User} on {Channel} (connection {Connection} on {Node})", member.User, channel, member.Connection, name);
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
                {
                    // Announced anyway: a member that cannot be reached must not stay listed as a peer.
                    _log.LogWarning("signal: the entry of {User} on {Channel} (on {Node}) could not be deleted: {Reason}", member.User, channel, name, e.Message);
                }
                _hub.RemoveRemote(bucket, channel, member);
            }
            if (_node.Leader == _node.Name)
            {
                var swept = await _presence.RemoveOriginAsync(name, foundDownAtMs, () => _node.State.Member(name)?.State is null or MemberState.Down, _stopping.Token)
                    .ConfigureAwait(false);
                if (swept > 0) _log.LogInformation("signal: removed {Count} more entries of {Node}", swept, name);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "signal: removing the members of {Node} failed", name);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        foreach (var outbox in _outboxes.Values) await outbox.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The events for one receiver: numbered as they are queued, sent in batches by one task.</summary>
    private sealed class Outbox : IAsyncDisposable
    {
        private readonly ClusterSignalRelay _relay;
        private readonly string _target;
        private readonly Channel<SignalWireEvent> _queue = Channel.CreateBounded<SignalWireEvent>(
            new BoundedChannelOptions(QueueEvents) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        private readonly Lock _numbering = new();
        private readonly Task _sending;
        private long _seq;

        public Outbox(ClusterSignalRelay relay, string target)
        {
            _relay = relay;
            _target = target;
            _sending = Task.Run(SendAsync);
        }

        public long LastSeq => Interlocked.Read(ref _seq);

        public void Enqueue(SignalWireEvent wire)
        {
            lock (_numbering)
            {
                // A number is used even when the event is dropped: the receiver sees the gap.
                wire = new SignalWireEvent
                {
                    Seq = Interlocked.Increment(ref _seq), Kind = wire.Kind, Bucket = wire.Bucket, Channel = wire.Channel, User = wire.User,
                    Connection = wire.Connection, ConnectedAtMs = wire.ConnectedAtMs, Frame = wire.Frame, To = wire.To,
                };
                _queue.Writer.TryWrite(wire);
            }
        }

        private async Task SendAsync()
        {
            var token = _relay._stopping.Token;
            var batch = new List<SignalWireEvent>(BatchEvents);
            try
            {
                while (await _queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    batch.Clear();
                    while (batch.Count < BatchEvents && _queue.Reader.TryRead(out var wire)) batch.Add(wire);
                    await _relay._node.Bus.PostAsync(_target, new SignalBatch { Incarnation = _relay._incarnation, Events = [.. batch] }, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            try { await _sending.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
    }
}
