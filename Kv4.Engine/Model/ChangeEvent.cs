namespace Kv4.Engine.Model;

/// <summary>
/// One mutation as the change feed delivers it. (<see cref="Partition"/>, <see cref="Version"/>) is its place in
/// its partition's stream: each partition's events come in version order; events of different partitions
/// interleave. A reader's resume point is a <see cref="FeedCursor"/>, advanced past each event it is given.
/// <see cref="Value"/> is null for deletes and bucket drops.
/// </summary>
public sealed record ChangeEvent(
    int Partition,
    long PartitionSequence,
    string Bucket,
    string Layer,
    string Path,
    string Key,
    Operation Op,
    ReadOnlyMemory<byte>? Value,
    VersionId Version,
    long TimestampMs,
    string Actor)
{
    /// <summary>Where its record starts in this node's log (a feed reader in durable mode waits until it is committed).</summary>
    internal long LogAddress { get; init; }
}
