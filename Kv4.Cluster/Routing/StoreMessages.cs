using Kv4.Cluster.Bus;
using MessagePack;

namespace Kv4.Cluster.Routing;

// The store's calls as they cross the bus to the node that leads the partition (or, for calls that span partitions,
// to every node for the partitions it leads). Each mirrors one method of Kv4.Services.Storage's views.

[MessagePackObject]
public sealed class StoreGet : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string Key { get; set; } = "";
}

[MessagePackObject]
public sealed class StoreValue : BusMessage
{
    [Key(0)] public bool Found { get; set; }
    [Key(1)] public byte[]? Json { get; set; }
    [Key(2)] public long Version { get; set; }
    [Key(3)] public long TimestampMs { get; set; }
    [Key(4)] public string Actor { get; set; } = "";
    /// <summary>For a lookup by secondary key: the key found.</summary>
    [Key(5)] public string? Key { get; set; }
}

[MessagePackObject]
public sealed class StoreGetBySecondary : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public int Slot { get; set; }
    [Key(4)] public string SecondaryKey { get; set; } = "";
}

[MessagePackObject]
public sealed class StoreGetSecondaryKeys : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string Key { get; set; } = "";
}

[MessagePackObject]
public sealed class StoreSecondaryKeys : BusMessage
{
    [Key(0)] public bool Found { get; set; }
    [Key(1)] public string? K2 { get; set; }
    [Key(2)] public string? K3 { get; set; }
    [Key(3)] public string? K4 { get; set; }
}

[MessagePackObject]
public sealed class StoreListKeys : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string? After { get; set; }
    /// <summary>-1: every key.</summary>
    [Key(4)] public int Max { get; set; } = -1;
}

[MessagePackObject]
public sealed class StoreStrings : BusMessage
{
    [Key(0)] public string[] Items { get; set; } = [];
}

[MessagePackObject]
public sealed class StoreListPaths : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Prefix { get; set; } = "";
    [Key(3)] public int? MaxDepth { get; set; }
    [Key(4)] public string? After { get; set; }
    /// <summary>-1: every path.</summary>
    [Key(5)] public int Max { get; set; } = -1;
    [Key(6)] public int[] Partitions { get; set; } = [];
}

/// <summary>An entry's value as of an instant (reply: <see cref="StoreValue"/>).</summary>
[MessagePackObject]
public sealed class StoreGetAt : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string Key { get; set; } = "";
    [Key(4)] public long AtMs { get; set; }
}

/// <summary>A page of the keys live at an instant (reply: <see cref="StoreStrings"/>).</summary>
[MessagePackObject]
public sealed class StoreListKeysAt : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public long AtMs { get; set; }
    [Key(4)] public string? After { get; set; }
    [Key(5)] public int Max { get; set; }
}

/// <summary>A page of the paths with a live entry at an instant, of the partitions named (reply: <see cref="StoreStrings"/>).</summary>
[MessagePackObject]
public sealed class StoreListPathsAt : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Prefix { get; set; } = "";
    [Key(3)] public int? MaxDepth { get; set; }
    [Key(4)] public long AtMs { get; set; }
    [Key(5)] public string? After { get; set; }
    [Key(6)] public int Max { get; set; }
    [Key(7)] public int[] Partitions { get; set; } = [];
}

[MessagePackObject]
public sealed class StoreListLayers : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public int[] Partitions { get; set; } = [];
}

[MessagePackObject]
public sealed class StoreLayers : BusMessage
{
    [Key(0)] public string[] Layers { get; set; } = [];
    [Key(1)] public long[] Counts { get; set; } = [];
}

[MessagePackObject]
public sealed class StoreListBuckets : BusMessage
{
    [Key(0)] public string Prefix { get; set; } = "";
    [Key(1)] public int[] Partitions { get; set; } = [];
}

[MessagePackObject]
public sealed class StorePut : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string Key { get; set; } = "";
    [Key(4)] public byte[] Json { get; set; } = [];
    [Key(5)] public string Actor { get; set; } = "";
    [Key(6)] public int Condition { get; set; }
    [Key(7)] public long Expected { get; set; }
    [Key(8)] public string? K2 { get; set; }
    [Key(9)] public string? K3 { get; set; }
    [Key(10)] public string? K4 { get; set; }
}

[MessagePackObject]
public sealed class StoreDelete : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string Key { get; set; } = "";
    [Key(4)] public string Actor { get; set; } = "";
    [Key(5)] public int Condition { get; set; }
    [Key(6)] public long Expected { get; set; }
}

[MessagePackObject]
public sealed class StoreWritten : BusMessage
{
    [Key(0)] public bool Applied { get; set; }
    [Key(1)] public long Version { get; set; }
    [Key(2)] public long TimestampMs { get; set; }
    [Key(3)] public int Partition { get; set; }
    [Key(4)] public long Sequence { get; set; }
}

[MessagePackObject]
public sealed class StoreDeleteTree : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Prefix { get; set; } = "";
    [Key(3)] public string Actor { get; set; } = "";
    [Key(4)] public int[] Partitions { get; set; } = [];
}

[MessagePackObject]
public sealed class StoreDropBucket : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Actor { get; set; } = "";
    [Key(2)] public int[] Partitions { get; set; } = [];
}

[MessagePackObject]
public sealed class StoreCount : BusMessage
{
    [Key(0)] public long Count { get; set; }
}

/// <summary>One page of a key's history (<see cref="Key"/> set) or a path's (null), newest first, after a position.</summary>
[MessagePackObject]
public sealed class StoreHistory : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public string? Key { get; set; }
    [Key(4)] public long FromMs { get; set; }
    [Key(5)] public long ToMs { get; set; }
    [Key(6)] public int Limit { get; set; }
    [Key(7)] public bool HasAfter { get; set; }
    [Key(8)] public long AfterAddress { get; set; }
    [Key(9)] public long AfterPrevious { get; set; }
    [Key(10)] public long AfterVersion { get; set; }
    [Key(11)] public int Max { get; set; }
}

[MessagePackObject]
public sealed class StoreHistoryPage : BusMessage
{
    [Key(0)] public HistoryItem[] Entries { get; set; } = [];
    /// <summary>Whether the history goes on after the last entry (within the query's limit).</summary>
    [Key(1)] public bool More { get; set; }
}

[MessagePackObject]
public sealed class HistoryItem
{
    [Key(0)] public string Key { get; set; } = "";
    [Key(1)] public long TimestampMs { get; set; }
    [Key(2)] public string Actor { get; set; } = "";
    [Key(3)] public byte Op { get; set; }
    [Key(4)] public byte[]? Value { get; set; }
    [Key(5)] public long Version { get; set; }
    [Key(6)] public long Address { get; set; }
    [Key(7)] public long PreviousAddress { get; set; }
}

[MessagePackObject]
public sealed class StoreCursor : BusMessage
{
    [Key(0)] public int[] Partitions { get; set; } = [];
}

[MessagePackObject]
public sealed class StorePositions : BusMessage
{
    /// <summary>(partition, version) pairs, flattened.</summary>
    [Key(0)] public int[] Partitions { get; set; } = [];
    [Key(1)] public long[] Versions { get; set; } = [];
}

/// <summary>Opens a read of a bucket's changes in the partitions this node leads, after a cursor; pulled with <see cref="FeedNext"/>.</summary>
[MessagePackObject]
public sealed class FeedOpen : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string? Layer { get; set; }
    [Key(2)] public string Prefix { get; set; } = "";
    [Key(3)] public int[] Partitions { get; set; } = [];
    [Key(4)] public string Cursor { get; set; } = "0";
}

[MessagePackObject]
public sealed class FeedOpened : BusMessage
{
    [Key(0)] public long Id { get; set; }
}

/// <summary>The next events of an open feed: at most <see cref="Max"/>, waiting up to <see cref="WaitMs"/> for the first.</summary>
[MessagePackObject]
public sealed class FeedNext : BusMessage
{
    [Key(0)] public long Id { get; set; }
    [Key(1)] public int Max { get; set; }
    [Key(2)] public int WaitMs { get; set; }
}

[MessagePackObject]
public sealed class FeedEvents : BusMessage
{
    [Key(0)] public FeedItem[] Events { get; set; } = [];
    /// <summary>The feed ended on that node (closed, or the partitions are no longer led there): open it again elsewhere.</summary>
    [Key(1)] public bool Ended { get; set; }
}

[MessagePackObject]
public sealed class FeedItem
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public long Sequence { get; set; }
    [Key(2)] public string Bucket { get; set; } = "";
    [Key(3)] public string Layer { get; set; } = "";
    [Key(4)] public string Path { get; set; } = "";
    [Key(5)] public string Key { get; set; } = "";
    [Key(6)] public byte Op { get; set; }
    [Key(7)] public byte[]? Value { get; set; }
    [Key(8)] public long Version { get; set; }
    [Key(9)] public long TimestampMs { get; set; }
    [Key(10)] public string Actor { get; set; } = "";
}

[MessagePackObject]
public sealed class FeedClose : BusMessage
{
    [Key(0)] public long Id { get; set; }
}

/// <summary>A notice to every node: a layer of a bucket that nodes keep cached (the deny rules) changed.</summary>
[MessagePackObject]
public sealed class Invalidate : BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
}

/// <summary>
/// A backup of the cluster reading one partition from its primary: its records after <see cref="AfterSequence"/> up to
/// <see cref="UpToSequence"/> (acknowledged ones, fixed when the backup began), in order. <see cref="Resume"/> is the
/// place in <see cref="ResumeNode"/>'s log the previous page stopped at; another node ignores it.
/// </summary>
[MessagePackObject]
public sealed class StoreReadRecords : BusMessage
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public long AfterSequence { get; set; }
    [Key(2)] public long UpToSequence { get; set; }
    [Key(3)] public long Resume { get; set; }
    [Key(4)] public string ResumeNode { get; set; } = "";
    /// <summary>Pages of retained versions after the first: the compaction horizon the first was read at (null: none yet).</summary>
    [Key(5)] public long? Horizon { get; set; }
}

/// <summary>
/// A page of a partition's records (framed, as the log holds them); <see cref="Last"/> the sequence of the last. A
/// compacted partition's first pages are its retained versions instead (<see cref="Retained"/>), up to its history
/// start <see cref="UpTo"/>, after which its records go on in <see cref="Epochs"/>.
/// </summary>
[MessagePackObject]
public sealed class StoreRecords : BusMessage
{
    [Key(0)] public byte[][] Records { get; set; } = [];
    [Key(1)] public long Last { get; set; }
    [Key(2)] public long Resume { get; set; }
    [Key(3)] public string Node { get; set; } = "";
    [Key(4)] public bool Retained { get; set; }
    [Key(5)] public long UpTo { get; set; }
    [Key(6)] public int[] Epochs { get; set; } = [];
    [Key(7)] public long[] FirstSequences { get; set; } = [];
    [Key(8)] public long Horizon { get; set; }
}
