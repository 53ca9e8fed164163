namespace Kv4.Engine.Model;

/// <summary>
/// Which changes a feed reader wants: one bucket, optionally one layer, and a path prefix matched
/// by whole segments ("a/b" matches "a/b" and "a/b/c", not "a/bc"; "" matches every path).
/// A <see cref="Operation.DropBucket"/> of the bucket always matches. With <see cref="Partitions"/>, only the changes of
/// those partitions (a cluster node streams the partitions it leads).
/// </summary>
public readonly record struct ChangeFilter(string Bucket, string? Layer = null, string PathPrefix = "", PartitionSet? Partitions = null);
