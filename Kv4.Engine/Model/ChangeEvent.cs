namespace Kv4.Engine.Model;

/// <summary>
/// One mutation as the change feed delivers it. <see cref="Sequence"/> is store-wide and strictly
/// increasing in feed order; (<see cref="Partition"/>, <see cref="PartitionSequence"/>) orders the
/// partition's own stream. <see cref="Value"/> is null for deletes and bucket drops.
/// </summary>
public sealed record ChangeEvent(
    long Sequence,
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
    string Actor);
