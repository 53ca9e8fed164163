namespace Kv4.Services.Signal;

/// <summary>
/// The other nodes of a cluster, as a <see cref="SignalHub"/> sees them: where it tells what its own members do, and
/// whom it asks before it opens a channel. A single node has none (<see cref="LocalSignalRelay"/>: today's behaviour);
/// a cluster node's relay lives with the cluster and feeds what it hears back through the hub's <c>Apply*</c>
/// methods. Each node orders the events of its own members; see docs/cluster.md "Realtime across nodes".
/// </summary>
public interface ISignalRelay
{
    /// <summary>This node's name: the tie-break between two connections of one user made at the same instant.</summary>
    string Node { get; }

    /// <summary>
    /// Sends an event of a local member to other nodes: to <paramref name="nodes"/>, or to every other node when null.
    /// Called under the channel's lock, so a channel's events leave in the order the hub made them: never blocks.
    /// </summary>
    void Publish(SignalEvent signal, IReadOnlyList<string>? nodes);

    /// <summary>
    /// Learns who is on the channel on the other nodes, before this node's first member of it joins. Completes
    /// once the hub has been given (<see cref="SignalHub.Reconcile"/>) each node's members, or that node gave up.
    /// </summary>
    Task OpenChannelAsync(string bucket, string channel);

    /// <summary>Kicks on the other nodes (see <see cref="PresenceRecorder.KickLocalAsync"/>): the (topic path, user) pairs that went.</summary>
    Task<IReadOnlyList<(string Path, string User)>> KickElsewhereAsync(string bucket, string path, string? user, CancellationToken cancellationToken);
}

/// <summary>A node alone: nobody else to tell or ask.</summary>
public sealed class LocalSignalRelay(string node) : ISignalRelay
{
    public string Node => node;

    public void Publish(SignalEvent signal, IReadOnlyList<string>? nodes)
    {
    }

    public Task OpenChannelAsync(string bucket, string channel) => Task.CompletedTask;

    public Task<IReadOnlyList<(string Path, string User)>> KickElsewhereAsync(string bucket, string path, string? user, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<(string, string)>>([]);
}

public enum SignalEventKind : byte
{
    Joined = 1,
    Left = 2,
    /// <summary>A relayed user message: <see cref="SignalEvent.Frame"/> is the frame as members receive it.</summary>
    Message = 3,
}

/// <summary>
/// What a member did, as nodes tell each other: <see cref="Connection"/> and <see cref="ConnectedAtMs"/> identify the
/// connection on its node (a late event of a replaced connection is recognised and ignored). For a message,
/// <see cref="User"/> is the sender and <see cref="To"/> the addressee of a direct one.
/// </summary>
public sealed record SignalEvent(SignalEventKind Kind, string Bucket, string Channel, string User, long Connection, long ConnectedAtMs,
    ReadOnlyMemory<byte> Frame = default, string? To = null);

/// <summary>A member connected to another node.</summary>
public sealed record RemoteMember(string Node, string User, long Connection, long ConnectedAtMs)
{
    /// <summary>Of two connections of one user, the later one stays (ties: the greater node name, then connection id).</summary>
    public static bool IsLater(long atMs, string node, long connection, long thanAtMs, string thanNode, long thanConnection) =>
        atMs != thanAtMs ? atMs > thanAtMs
        : string.CompareOrdinal(node, thanNode) is var byNode && byNode != 0 ? byNode > 0
        : connection > thanConnection;
}
