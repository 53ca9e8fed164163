using System.Buffers;
using System.Text.Json;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Storage;

namespace Kv4.Services.Signal;

/// <summary>
/// Mirrors the hub's membership into layer `subs` (http-api.md §5.6 `_subs`), so `_subs` lists who is connected.
/// As in the Xirsys v3 API, a subscription lives under its channel's **topic** node (the `_subs` service's own level
/// below the namespace path); the signal socket speaks the V2 protocol, whose topic is always <see cref="Topic"/>.
/// While alice is joined to "room/1" of bucket "elena" on node "n1", the store holds
/// <code>
/// (elena, subs, room/1/topic, alice) = {"key":"alice","ident":"elena","path":"/room/1","topic":"topic","origin":"n1",
///                                       "service":"signal","meta":{"conn":7,"since":1763900000000}}
/// </code>
/// This record format is documented in docs/realtime.md ("Presence: `_subs`"); another node's entries follow it too.
/// <see cref="JoinAsync"/> writes a joiner's entry before the hub announces it and <see cref="RemoveAsync"/> deletes a
/// leaver's own entry before the hub announces the leave, both under a per-user lock and by connection id, so a
/// replaced connection's late leave can never delete its successor's entry.
/// </summary>
public sealed class PresenceRecorder(IStore store, SignalHub hub, string nodeId)
{
    public const string Layer = "subs";
    public const string Service = "signal";

    /// <summary>The topic of every signal subscription: the V2 protocol's default topic.</summary>
    public const string Topic = "topic";

    /// <summary>Where the subscriptions of a channel are stored: its topic node ("room/1" → "room/1/topic"; the root channel → "topic").</summary>
    public static string PathOf(string channel) => channel.Length == 0 ? Topic : channel + "/" + Topic;

    private readonly SemaphoreSlim[] _stripes = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    // (bucket, channel, user) → id of the connection whose entry this node last wrote.
    private readonly Dictionary<(string, string, string), long> _written = new();

    public string NodeId => nodeId;

    /// <summary>
    /// Joins <paramref name="user"/> to the channel with its entry written first, so that whoever hears
    /// `peer_connected` (or gets its `peers`) finds it in `_subs`. The per-user lock is held across both, so a
    /// predecessor's leave or a kick can never see the new member without its entry. A failed entry write goes to
    /// <paramref name="onEntryFailed"/> and the join goes on; without a handler it throws and nobody is joined (the
    /// signal endpoint then refuses the socket).
    /// </summary>
    public async Task<SignalConnection> JoinAsync(string bucket, string channel, string user, string actor,
        Action<Exception>? onEntryFailed = null, CancellationToken cancellationToken = default)
    {
        var key = (bucket, channel, user);
        var stripe = StripeOf(key);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = hub.CreateConnection(bucket, channel, user, actor);
            try
            {
                await store.PutAsync(new EntryAddress(bucket, Layer, PathOf(channel), user), Entry(connection), actor, cancellationToken: cancellationToken).ConfigureAwait(false);
                lock (_written) _written[key] = connection.Id;
            }
            catch (Exception e) when (onEntryFailed is not null)
            {
                onEntryFailed(e);
            }
            await hub.JoinAsync(connection).ConfigureAwait(false);
            return connection;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>
    /// Deletes the entry of a connection that is about to leave, before the hub tells the others (`peer_removed`),
    /// so a member that has seen `peer_removed` never finds the leaver in `_subs`. Only that connection's own entry
    /// goes: a successor that replaced it keeps its entry.
    /// </summary>
    public async Task RemoveAsync(SignalConnection connection, CancellationToken cancellationToken = default)
    {
        var key = (connection.Bucket, connection.Channel, connection.User);
        var stripe = StripeOf(key);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (WrittenId(key) == connection.Id) await DeleteWrittenAsync(key, connection.Id, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            stripe.Release();
        }
    }

    private SemaphoreSlim StripeOf((string Bucket, string Channel, string User) key) =>
        _stripes[(int)((uint)HashCode.Combine(key.Bucket, key.Channel, key.User) % (uint)_stripes.Length)];

    private long? WrittenId((string, string, string) key)
    {
        lock (_written) return _written.TryGetValue(key, out var id) ? id : null;
    }

    /// <summary>
    /// Deletes only that connection's own entry (the version read is the one deleted): a delete that timed out here but
    /// lands late on a cluster's primary cannot take a successor's entry, written since, with it.
    /// </summary>
    private async Task DeleteWrittenAsync((string Bucket, string Channel, string User) key, long connection, CancellationToken cancellationToken)
    {
        await RemoveRemoteAsync(key.Bucket, key.Channel, key.User, nodeId, connection, cancellationToken).ConfigureAwait(false);
        lock (_written) _written.Remove(key);
    }

    /// <summary>
    /// Deletes the entries this node left behind when it stopped without cleaning up (a crash): every `subs` entry
    /// whose origin is this node, in every bucket. Run once at start, before accepting connections. Returns how many.
    /// </summary>
    public Task<int> RemoveStaleAsync(CancellationToken cancellationToken = default) => RemoveOriginAsync(nodeId, long.MaxValue, static () => true, cancellationToken);

    /// <summary>
    /// Deletes every `subs` entry another node <paramref name="origin"/> wrote for a connection made before
    /// <paramref name="beforeMs"/> (when it was found down), in every bucket, as long as <paramref name="stillGone"/>
    /// says that node is down: a node that came back writes entries of its own again, and those stay.
    /// </summary>
    public async Task<int> RemoveOriginAsync(string origin, long beforeMs, Func<bool> stillGone, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        foreach (var bucket in await store.ListBucketsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            foreach (var path in await store.Bucket(bucket).ListPathsAsync(Layer, "", cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                foreach (var key in await store.Bucket(bucket).ListKeysAsync(Layer, path, cancellationToken).ConfigureAwait(false))
                {
                    if (!stillGone()) return removed;
                    var address = new EntryAddress(bucket, Layer, path, key);
                    if (await store.GetLatestAsync(address, cancellationToken).ConfigureAwait(false) is not { } value || !IsFrom(value.Json.Span, origin, null, beforeMs)) continue;
                    try
                    {
                        var result = await store.DeleteAsync(address, nodeId, WriteCondition.IfVersion(value.Version), cancellationToken).ConfigureAwait(false);
                        if (result.Applied) removed++;
                    }
                    catch (EngineException e) when (e.Error is EngineError.NotFound or EngineError.VersionConflict)
                    {
                        // Deleted or rewritten meanwhile: not this origin's to remove any more.
                    }
                }
            }
        }
        return removed;
    }

    /// <summary>
    /// Deletes the entry of one connection of another node (that node died), only if the entry is still that
    /// connection's: a successor's entry, written since on another node, stays. True if deleted.
    /// </summary>
    public async Task<bool> RemoveRemoteAsync(string bucket, string channel, string user, string origin, long connection, CancellationToken cancellationToken = default)
    {
        var address = new EntryAddress(bucket, Layer, PathOf(channel), user);
        if (await store.GetLatestAsync(address, cancellationToken).ConfigureAwait(false) is not { } value || !IsFrom(value.Json.Span, origin, connection)) return false;
        try
        {
            var result = await store.DeleteAsync(address, nodeId, WriteCondition.IfVersion(value.Version), cancellationToken).ConfigureAwait(false);
            return result.Applied;
        }
        catch (EngineException e) when (e.Error is EngineError.NotFound or EngineError.VersionConflict)
        {
            return false; // another node deleted it first, or a successor wrote its own
        }
    }

    /// <summary>
    /// Kicks this node's connections at <paramref name="path"/> (a topic path; with a user: that user's at exactly
    /// that topic node; without: every one at or under the path), each entry deleted before the others hear
    /// `peer_removed`, as when a member leaves by itself. Returns the (topic path, user) pairs kicked.
    /// </summary>
    public async Task<IReadOnlyList<(string Path, string User)>> KickLocalAsync(string bucket, string path, string? user, CancellationToken cancellationToken)
    {
        Func<string, bool> onChannel = user is null
            ? channel => AddressRules.IsUnder(PathOf(channel), path)
            : channel => PathOf(channel) == path;
        var gone = new List<(string, string)>();
        foreach (var connection in hub.Connections(bucket, onChannel, user))
        {
            await RemoveAsync(connection, cancellationToken).ConfigureAwait(false);
            hub.Leave(connection, SignalCloseReason.Kicked);
            // Counted by its close reason, not by who removed it: the socket's own leave, woken by the close, may win the race.
            if (connection.CloseReason == SignalCloseReason.Kicked) gone.Add((PathOf(connection.Channel), connection.User));
        }
        return gone;
    }

    /// <summary>True when the entry was written by this node's signal service.</summary>
    public bool IsOurs(ReadOnlySpan<byte> json) => IsFrom(json, nodeId, null);

    /// <summary>
    /// True when the entry was written by the signal service of <paramref name="origin"/> (for that connection, when
    /// given; for a connection made before <paramref name="beforeMs"/>, when given).
    /// </summary>
    private static bool IsFrom(ReadOnlySpan<byte> json, string origin, long? connection, long beforeMs = long.MaxValue)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            string? writer = null, service = null;
            long? id = null;
            var since = 0L;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isOrigin = reader.ValueTextEquals("origin"u8);
                var isService = reader.ValueTextEquals("service"u8);
                var isMeta = reader.ValueTextEquals("meta"u8);
                reader.Read();
                if (isOrigin && reader.TokenType == JsonTokenType.String) writer = reader.GetString();
                else if (isService && reader.TokenType == JsonTokenType.String) service = reader.GetString();
                else if (isMeta && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isConn = reader.ValueTextEquals("conn"u8);
                        var isSince = reader.ValueTextEquals("since"u8);
                        reader.Read();
                        if (isConn && reader.TokenType == JsonTokenType.Number) id = reader.GetInt64();
                        else if (isSince && reader.TokenType == JsonTokenType.Number) since = reader.GetInt64();
                        else reader.Skip();
                    }
                }
                else reader.Skip();
            }
            return writer == origin && service == Service && (connection is null || id == connection) && since < beforeMs;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private byte[] Entry(SignalConnection connection)
    {
        var buffer = new ArrayBufferWriter<byte>(192);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("key", connection.User);
            writer.WriteString("ident", Ident(connection.Bucket));
            writer.WriteString("path", "/" + connection.Channel);
            writer.WriteString("topic", Topic);
            writer.WriteString("origin", nodeId);
            writer.WriteString("service", Service);
            writer.WriteStartObject("meta");
            writer.WriteNumber("conn", connection.Id);
            writer.WriteNumber("since", connection.ConnectedAtMs);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string Ident(string bucket) => bucket.IndexOf('#') is var i and >= 0 ? bucket[..i] : bucket;
}
