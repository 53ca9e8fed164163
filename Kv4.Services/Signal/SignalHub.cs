using System.Collections.Concurrent;
using System.Text.Json;
using Kv4.Engine.Rules;
using Kv4.Services.Stats;

namespace Kv4.Services.Signal;

/// <summary>
/// The signal protocol without sockets: channels, their members, and who receives which frame.
/// State, for bucket "elena" with alice and bob in "room/1" and carol alone in "lobby":
/// <code>
/// _rooms: { ("elena","room/1") → Room { Members = [alice#7, bob#9] },   // copy-on-write array, #n = connection id
///           ("elena","lobby")  → Room { Members = [carol#8] } }
/// </code>
/// Membership changes take the room's lock and publish a new array; broadcasts read the current array without
/// a lock and only ever do non-blocking enqueues, so neither a large channel nor a slow member holds anyone up.
/// The host calls <see cref="Join"/> after the upgrade, <see cref="Receive"/> per text frame and <see cref="Leave"/>
/// when the socket ends (for any reason, possibly after the hub already removed it: Leave is idempotent).
/// Every join counts 1 in `router:sub` and every relayed message its size in bytes in `router:pkt` (http-api.md §5.9
/// `_stats`), at the channel as entity and with the member as key, in the channel's bucket, when a
/// <see cref="IStatsSink"/> is given.
/// In a cluster a room also knows the members connected to other nodes (<see cref="Room.Remote"/>, user → node and
/// connection): they are in `peers`, a direct message to one goes to its node, and a broadcast goes to every node
/// that has one. What local members do is told to the other nodes through the <see cref="ISignalRelay"/> under the
/// room's lock; what members elsewhere do comes back through <see cref="ApplyJoined"/>, <see cref="ApplyLeft"/>,
/// <see cref="ApplyMessage"/> and <see cref="Reconcile"/>. With alice on n1 and bob on n2 in "room/1", n1 holds
/// <code>
/// _rooms: { ("elena","room/1") → Room { Members = [alice#7], Remote = { bob → (n2, #9) }, RemoteNodes = [n2] } }
/// </code>
/// </summary>
public sealed class SignalHub(SignalOptions options, IStatsSink? stats = null)
{
    public const string SubscriptionsMeasurement = "router:sub";
    public const string PacketsMeasurement = "router:pkt";

    private readonly ConcurrentDictionary<(string Bucket, string Channel), Room> _rooms = new();
    private long _nextId;
    private int _connections;
    private ISignalRelay _relay = new LocalSignalRelay("local");

    public SignalOptions Options => options;

    /// <summary>The other nodes (none unless <see cref="UseRelay"/> was called).</summary>
    public ISignalRelay Relay => _relay;

    /// <summary>Joins this hub to a cluster's other nodes; called once, before the first connection.</summary>
    public void UseRelay(ISignalRelay relay) => _relay = relay;

    /// <summary>Connections currently joined on this node: the load `_host` reports for "signal".</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>A connection not yet joined: <see cref="PresenceRecorder"/> records it before <see cref="Join"/>.</summary>
    public SignalConnection CreateConnection(string bucket, string channel, string user, string actor) =>
        new(Interlocked.Increment(ref _nextId), bucket, channel, user, actor, options.SendQueueFrames);

    /// <summary>
    /// Adds a connection made by <see cref="CreateConnection"/> (once) to its channel. The joiner's first frame is
    /// `peers` (every member, itself included, sorted); the others get `peer_connected`. An existing connection of the
    /// same user is closed (<see cref="SignalCloseReason.Replaced"/>) and the others see it leave and the new one arrive.
    /// The first member of a channel on this node waits until the other nodes said who they have there.
    /// </summary>
    public async ValueTask JoinAsync(SignalConnection connection)
    {
        while (true)
        {
            var room = _rooms.GetOrAdd((connection.Bucket, connection.Channel), static key => new Room(key.Bucket, key.Channel));
            Lazy<Task> opening;
            lock (room) opening = room.Opening ??= new Lazy<Task>(() => _relay.OpenChannelAsync(room.Bucket, room.Channel));
            // Started outside the room's lock: the relay takes its own lock, which it holds while it calls into rooms.
            await opening.Value.ConfigureAwait(false);
            if (TryJoin(room, connection)) return;
        }
    }

    /// <summary><see cref="JoinAsync"/> for a hub without other nodes, where joining never waits.</summary>
    public void Join(SignalConnection connection) => JoinAsync(connection).AsTask().GetAwaiter().GetResult();

    private bool TryJoin(Room room, SignalConnection connection)
    {
        var (channel, user) = (connection.Channel, connection.User);
        lock (room)
        {
            if (room.Retired) return false; // emptied and dropped meanwhile: take the new one
            var members = room.Members;
            var replaced = Array.FindIndex(members, m => m.User == user);
            if (replaced >= 0)
            {
                var old = members[replaced];
                members = members.Where((_, i) => i != replaced).ToArray();
                room.Members = members;
                Interlocked.Decrement(ref _connections);
                old.Close(SignalCloseReason.Replaced);
                Broadcast(members, SignalFrames.PeerRemoved(old.Address), except: null);
                _relay.Publish(EventOf(SignalEventKind.Left, old), null);
            }
            else if (room.Remote.TryGetValue(user, out var elsewhere))
            {
                // Its node closes it once it hears of this later join.
                room.SetRemote(room.Remote.Where(r => r.Key != user));
                Broadcast(members, SignalFrames.PeerRemoved(SignalAddress.Of(channel, elsewhere.User)), except: null);
            }
            var joined = new SignalConnection[members.Length + 1];
            members.CopyTo(joined, 0);
            joined[^1] = connection;
            // `peers` goes into the joiner's queue before it is visible to broadcasts, so it is always its first frame.
            // A member closed but not yet gone (its identity just revoked) is no longer anyone's peer.
            connection.TryEnqueue(SignalFrames.Peers(channel, joined.Where(m => m.CloseReason is null).Select(m => m.User)
                .Concat(room.Remote.Keys).Order(StringComparer.Ordinal).ToArray()));
            room.Members = joined;
            Interlocked.Increment(ref _connections);
            Broadcast(members, SignalFrames.PeerConnected(connection.Address), except: null);
            _relay.Publish(EventOf(SignalEventKind.Joined, connection), null);
            Measure(connection, SubscriptionsMeasurement, 1);
            return true;
        }
    }

    private static SignalEvent EventOf(SignalEventKind kind, SignalConnection connection) =>
        new(kind, connection.Bucket, connection.Channel, connection.User, connection.Id, connection.ConnectedAtMs);

    /// <summary>Removes the connection if it is still a member and tells the others (`peer_removed`). True if it was a member.</summary>
    public bool Leave(SignalConnection connection, SignalCloseReason reason = SignalCloseReason.ClientGone)
    {
        connection.Close(reason);
        if (!_rooms.TryGetValue((connection.Bucket, connection.Channel), out var room)) return false;
        lock (room)
        {
            var members = room.Members;
            var index = Array.IndexOf(members, connection);
            if (index < 0) return false;
            members = members.Where((_, i) => i != index).ToArray();
            room.Members = members;
            Interlocked.Decrement(ref _connections);
            // Without a local member, what the other nodes' members do is of no use here: the room goes, and the next
            // local member asks them again.
            if (members.Length == 0)
            {
                room.Retired = true;
                _rooms.TryRemove(new KeyValuePair<(string, string), Room>((connection.Bucket, connection.Channel), room));
            }
            Broadcast(members, SignalFrames.PeerRemoved(connection.Address), except: null);
            _relay.Publish(EventOf(SignalEventKind.Left, connection), null);
            return true;
        }
    }

    /// <summary>
    /// Handles one text frame from <paramref name="sender"/>: `ping` is a keep-alive (no answer: the Xirsys client
    /// JSON-parses every frame it gets, so a bare `pong` would break it); a message is relayed with `m.f` set to the
    /// sender's address — to `m.t` only when given, else to every other member; anything malformed gets an error
    /// frame back and the connection stays.
    /// </summary>
    public SignalReceiveResult Receive(SignalConnection sender, ReadOnlySpan<byte> frame)
    {
        if (frame.SequenceEqual("ping"u8)) return SignalReceiveResult.KeepAlive;
        if (!TryParseMessage(frame, out var op, out var target, out var payload, out var error))
        {
            sender.TryEnqueue(SignalFrames.Error(sender.Channel, error));
            return SignalReceiveResult.Refused;
        }
        if (!_rooms.TryGetValue((sender.Bucket, sender.Channel), out var room)) return SignalReceiveResult.Refused;
        var members = room.Members;
        if (Array.IndexOf(members, sender) < 0) return SignalReceiveResult.Refused; // already left: drop quietly
        if (target is not null)
        {
            var peer = SignalAddress.PeerName(target);
            var recipient = Array.Find(members, m => m.User == peer && m.CloseReason is null);
            RemoteMember? elsewhere = null;
            if (recipient is null && !room.Remote.TryGetValue(peer, out elsewhere))
            {
                sender.TryEnqueue(SignalFrames.Error(sender.Channel, "peer_not_found", peer));
                return SignalReceiveResult.Refused;
            }
            var direct = SignalFrames.Message(sender.Address, op, peer, payload);
            if (recipient is not null) recipient.TryEnqueue(direct);
            else _relay.Publish(EventOf(SignalEventKind.Message, sender) with { Frame = direct, To = peer }, [elsewhere!.Node]);
            Measure(sender, PacketsMeasurement, direct.Length);
            return SignalReceiveResult.Relayed;
        }
        var message = SignalFrames.Message(sender.Address, op, null, payload);
        Broadcast(members, message, except: sender);
        if (room.RemoteNodes is { Length: > 0 } nodes) _relay.Publish(EventOf(SignalEventKind.Message, sender) with { Frame = message }, nodes);
        Measure(sender, PacketsMeasurement, message.Length);
        return SignalReceiveResult.Relayed;
    }

    /// <summary>
    /// A member joined on <paramref name="node"/>: announced here (`peer_connected`) unless this node has no member of the
    /// channel or already knows that connection. A connection of the same user here or elsewhere gives way to the later
    /// one (<see cref="RemoteMember.IsLater"/>): a local one is closed as <see cref="SignalCloseReason.Replaced"/>.
    /// </summary>
    public void ApplyJoined(string node, SignalEvent joined)
    {
        if (!_rooms.TryGetValue((joined.Bucket, joined.Channel), out var room)) return;
        lock (room)
        {
            if (!room.Retired) AddRemote(room, new RemoteMember(node, joined.User, joined.Connection, joined.ConnectedAtMs));
        }
    }

    /// <summary>A member left on <paramref name="node"/>: `peer_removed` here, if that very connection was known.</summary>
    public void ApplyLeft(string node, SignalEvent left)
    {
        if (!_rooms.TryGetValue((left.Bucket, left.Channel), out var room)) return;
        lock (room)
        {
            if (!room.Retired && room.Remote.TryGetValue(left.User, out var known) && known.Node == node && known.Connection == left.Connection)
                RemoveRemote(room, known);
        }
    }

    /// <summary>A message from a member on another node: to the addressee if it is here, else to every local member.</summary>
    public void ApplyMessage(SignalEvent message)
    {
        if (!_rooms.TryGetValue((message.Bucket, message.Channel), out var room)) return;
        var members = room.Members;
        if (message.To is { } to)
        {
            if (Array.Find(members, m => m.User == to && m.CloseReason is null) is { } recipient) recipient.TryEnqueue(message.Frame);
            return;
        }
        Broadcast(members, message.Frame, except: null);
    }

    /// <summary>
    /// Makes <paramref name="node"/>'s members of the channel exactly <paramref name="members"/> (what it answered when
    /// asked), announcing the differences: how a room learns another node's members when it opens or catches up.
    /// </summary>
    public void Reconcile(string bucket, string channel, string node, IReadOnlyList<RemoteMember> members)
    {
        if (!_rooms.TryGetValue((bucket, channel), out var room)) return;
        lock (room)
        {
            if (room.Retired) return;
            foreach (var known in room.Remote.Values.Where(r => r.Node == node && !members.Any(m => m.User == r.User && m.Connection == r.Connection)).ToArray())
                RemoveRemote(room, known);
            foreach (var member in members) AddRemote(room, member);
        }
    }

    /// <summary>Every member this node knows on <paramref name="node"/>: whom a node's death removes.</summary>
    public IReadOnlyList<(string Bucket, string Channel, RemoteMember Member)> RemoteMembersOf(string node)
    {
        var found = new List<(string, string, RemoteMember)>();
        foreach (var ((bucket, channel), room) in _rooms)
            foreach (var member in room.Remote.Values)
                if (member.Node == node) found.Add((bucket, channel, member));
        return found;
    }

    /// <summary>Forgets a member of another node (its node died): `peer_removed` here if it was still known.</summary>
    public void RemoveRemote(string bucket, string channel, RemoteMember member)
    {
        if (!_rooms.TryGetValue((bucket, channel), out var room)) return;
        lock (room)
        {
            if (room.Remote.TryGetValue(member.User, out var known) && known == member) RemoveRemote(room, known);
        }
    }

    /// <summary>This node's own members of the channel, and what the relay reads while the channel cannot change: what another node is told when it asks.</summary>
    public (IReadOnlyList<RemoteMember> Members, T Mark) LocalMembers<T>(string bucket, string channel, Func<T> mark)
    {
        if (!_rooms.TryGetValue((bucket, channel), out var room)) return ([], mark());
        lock (room)
        {
            return (room.Members.Where(m => m.CloseReason is null).Select(m => new RemoteMember(_relay.Node, m.User, m.Id, m.ConnectedAtMs)).ToArray(), mark());
        }
    }

    /// <summary>The channels with a member on this node.</summary>
    public IReadOnlyList<(string Bucket, string Channel)> Channels() => _rooms.Keys.ToArray();

    private void AddRemote(Room room, RemoteMember member)
    {
        if (room.Remote.TryGetValue(member.User, out var known))
        {
            if (known.Node == member.Node && known.Connection == member.Connection) return;
            if (!RemoteMember.IsLater(member.ConnectedAtMs, member.Node, member.Connection, known.ConnectedAtMs, known.Node, known.Connection)) return;
            RemoveRemote(room, known);
        }
        var members = room.Members;
        var local = Array.FindIndex(members, m => m.User == member.User);
        if (local >= 0)
        {
            var old = members[local];
            if (!RemoteMember.IsLater(member.ConnectedAtMs, member.Node, member.Connection, old.ConnectedAtMs, _relay.Node, old.Id)) return;
            members = members.Where((_, i) => i != local).ToArray();
            room.Members = members;
            Interlocked.Decrement(ref _connections);
            old.Close(SignalCloseReason.Replaced);
            Broadcast(members, SignalFrames.PeerRemoved(old.Address), except: null);
            _relay.Publish(EventOf(SignalEventKind.Left, old), null);
            if (members.Length == 0)
            {
                // No local member left to tell: the room goes, as when its last member leaves.
                room.Retired = true;
                _rooms.TryRemove(new KeyValuePair<(string, string), Room>((room.Bucket, room.Channel), room));
                return;
            }
        }
        room.SetRemote(room.Remote.Append(new KeyValuePair<string, RemoteMember>(member.User, member)));
        Broadcast(members, SignalFrames.PeerConnected(SignalAddress.Of(room.Channel, member.User)), except: null);
    }

    private static void RemoveRemote(Room room, RemoteMember known)
    {
        room.SetRemote(room.Remote.Where(r => r.Key != known.User));
        Broadcast(room.Members, SignalFrames.PeerRemoved(SignalAddress.Of(room.Channel, known.User)), except: null);
    }

    /// <summary>One value of a router measurement: a message counts once, however many members it reaches.</summary>
    private void Measure(SignalConnection connection, string measurement, double value)
    {
        // A user is a valid key (its token said so); a short one always fits in a stats key, so the full check, which
        // builds the stored key, runs only for long names, not on every message.
        if (stats is not null && (connection.User.Length <= ShortUser || StatsSeries.IsValidKey(measurement, connection.User)))
            stats.Record(connection.Bucket, connection.Channel, measurement, connection.User, value);
    }

    // 128 UTF-16 units are at most 384 UTF-8 bytes: with the measurement and the hour, far below a key's 512 bytes.
    private const int ShortUser = 128;

    /// <summary>Answers a frame the host could not hand over (a binary frame, say) with an error frame.</summary>
    public void RefuseFrame(SignalConnection sender, string code) => sender.TryEnqueue(SignalFrames.Error(sender.Channel, code));

    /// <summary>The connection of <paramref name="user"/> on this channel, if joined here.</summary>
    public SignalConnection? Find(string bucket, string channel, string user) =>
        _rooms.TryGetValue((bucket, channel), out var room) ? Array.Find(room.Members, m => m.User == user) : null;

    /// <summary>The users joined to exactly this channel, sorted.</summary>
    public IReadOnlyList<string> Members(string bucket, string channel) =>
        _rooms.TryGetValue((bucket, channel), out var room) ? room.Members.Select(m => m.User).Order(StringComparer.Ordinal).ToArray() : [];

    /// <summary>
    /// The connection of <paramref name="user"/> on exactly this channel, or with no user every member of the
    /// channel and of the channels below it: whom a kick removes (`_subs` leaves each with
    /// <see cref="SignalCloseReason.Kicked"/> once its presence entry is gone).
    /// </summary>
    public IReadOnlyList<SignalConnection> Connections(string bucket, string channel, string? user)
    {
        if (user is not null) return Find(bucket, channel, user) is { } one ? [one] : [];
        return Connections(bucket, roomChannel => AddressRules.IsUnder(roomChannel, channel), null);
    }

    /// <summary>The connections of the bucket on every channel <paramref name="onChannel"/> accepts, only <paramref name="user"/>'s when given.</summary>
    public IReadOnlyList<SignalConnection> Connections(string bucket, Func<string, bool> onChannel, string? user)
    {
        var found = new List<SignalConnection>();
        foreach (var ((roomBucket, roomChannel), room) in _rooms)
            if (roomBucket == bucket && onChannel(roomChannel))
                found.AddRange(user is null ? room.Members : room.Members.Where(m => m.User == user));
        return found;
    }

    /// <summary>Closes every connection (node shutdown).</summary>
    public void CloseAll(SignalCloseReason reason)
    {
        foreach (var room in _rooms.Values)
            foreach (var member in room.Members)
                member.Close(reason);
    }

    private static void Broadcast(SignalConnection[] members, ReadOnlyMemory<byte> frame, SignalConnection? except)
    {
        foreach (var member in members)
            if (!ReferenceEquals(member, except)) member.TryEnqueue(frame);
    }

    /// <summary>
    /// Accepts `{"t":"u","m":{"f":..,"o":"message","t":"peer"},"p":{..}}`: an object whose "t" is absent or "u", with an
    /// object "m" whose "o" (default "message") and "t" are strings; "p" may be any JSON value and is relayed as the
    /// exact bytes sent. "m.f" is ignored. Not JSON: bad_json; JSON of another shape: bad_param.
    /// </summary>
    private static bool TryParseMessage(ReadOnlySpan<byte> frame, out string op, out string? target, out ReadOnlySpan<byte> payload, out string error)
    {
        op = "message";
        target = null;
        payload = default;
        error = "bad_json";
        try
        {
            var check = new Utf8JsonReader(frame);
            while (check.Read()) { }
            if (check.BytesConsumed == 0) return false;
        }
        catch (JsonException)
        {
            return false;
        }

        error = "bad_param";
        var reader = new Utf8JsonReader(frame);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject) return false;
        var hasMeta = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("t"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("u"u8)) return false;
            }
            else if (reader.ValueTextEquals("m"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject) return false;
                hasMeta = true;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("o"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.String) return false;
                        op = reader.GetString()!;
                        if (op.Length == 0 || op is "peers" or "peer_connected" or "peer_removed" or "error") return false; // the server's own events
                    }
                    else if (reader.ValueTextEquals("t"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.Null) target = null;
                        else if (reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } peer) target = peer;
                        else return false;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("p"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                payload = frame[start..(int)reader.BytesConsumed];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return hasMeta;
    }

    private sealed class Room(string bucket, string channel)
    {
        public readonly string Bucket = bucket;
        public readonly string Channel = channel;
        public volatile SignalConnection[] Members = [];
        public bool Retired;

        /// <summary>Set once by the first joiner: completes when the other nodes' members are known.</summary>
        public Lazy<Task>? Opening;

        /// <summary>Members on other nodes by user; replaced whole under the lock, read without it.</summary>
        public volatile IReadOnlyDictionary<string, RemoteMember> Remote = new Dictionary<string, RemoteMember>();

        /// <summary>The nodes in <see cref="Remote"/>: where a broadcast goes.</summary>
        public volatile string[] RemoteNodes = [];

        public void SetRemote(IEnumerable<KeyValuePair<string, RemoteMember>> remote)
        {
            var next = new Dictionary<string, RemoteMember>(remote);
            Remote = next;
            RemoteNodes = next.Values.Select(m => m.Node).Distinct().Order(StringComparer.Ordinal).ToArray();
        }
    }
}
