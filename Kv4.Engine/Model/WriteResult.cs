namespace Kv4.Engine.Model;

/// <summary>
/// The outcome of an acknowledged write. <see cref="Applied"/> is false only for a delete of an
/// entry that was not there (nothing is appended then, and the other fields are default).
/// With sync durability the write is on disk when this is returned.
/// </summary>
public readonly record struct WriteResult(bool Applied, VersionId Version, long TimestampMs, int Partition, long PartitionSequence);
