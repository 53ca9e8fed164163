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
