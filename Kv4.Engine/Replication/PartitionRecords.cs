namespace Kv4.Engine.Replication;

/// <summary>
/// A run of a partition's records read back from the log, in sequence order, each framed as the log holds it, for a
/// backup that is behind. <see cref="LastSequence"/> is the sequence of the last one (the caller's start if none).
/// </summary>
public sealed record PartitionRecords(IReadOnlyList<byte[]> Records, long LastSequence);
