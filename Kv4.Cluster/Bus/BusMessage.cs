using Kv4.Cluster.Control;
using Kv4.Cluster.Replication;
using Kv4.Cluster.Routing;
using MessagePack;

namespace Kv4.Cluster.Bus;

/// <summary>
/// Everything nodes say on the bus, as one MessagePack union: the tag numbers are the wire format, so they are only
/// ever added, never renumbered. The messages live beside the part that handles them (Control, Replication, Routing).
/// </summary>
[Union(0, typeof(BusFault))]
[Union(1, typeof(Done))]
[Union(10, typeof(Heartbeat))]
[Union(11, typeof(HeartbeatReply))]
[Union(12, typeof(Propose))]
[Union(13, typeof(Proposed))]
[Union(14, typeof(JoinRequest))]
[Union(15, typeof(Fence))]
[Union(16, typeof(Fenced))]
[Union(20, typeof(Replicate))]
[Union(21, typeof(Replicated))]
[Union(22, typeof(SyncBackup))]
[Union(23, typeof(BackupSynced))]
[Union(24, typeof(RebaseBackup))]
[Union(30, typeof(StoreGet))]
[Union(31, typeof(StoreValue))]
[Union(32, typeof(StoreGetBySecondary))]
[Union(33, typeof(StoreGetSecondaryKeys))]
[Union(34, typeof(StoreSecondaryKeys))]
[Union(35, typeof(StoreListKeys))]
[Union(36, typeof(StoreStrings))]
[Union(37, typeof(StoreListPaths))]
[Union(38, typeof(StoreListLayers))]
[Union(39, typeof(StoreLayers))]
[Union(40, typeof(StoreListBuckets))]
[Union(41, typeof(StorePut))]
[Union(42, typeof(StoreDelete))]
[Union(43, typeof(StoreWritten))]
[Union(44, typeof(StoreDeleteTree))]
[Union(45, typeof(StoreDropBucket))]
[Union(46, typeof(StoreCount))]
[Union(47, typeof(StoreHistory))]
[Union(48, typeof(StoreHistoryPage))]
[Union(49, typeof(StoreCursor))]
[Union(50, typeof(StorePositions))]
[Union(51, typeof(FeedOpen))]
[Union(52, typeof(FeedOpened))]
[Union(53, typeof(FeedNext))]
[Union(54, typeof(FeedEvents))]
[Union(55, typeof(FeedClose))]
[Union(56, typeof(Invalidate))]
[Union(57, typeof(StoreGetAt))]
[Union(58, typeof(StoreListKeysAt))]
[Union(59, typeof(StoreListPathsAt))]
[Union(60, typeof(Realtime.SignalBatch))]
[Union(61, typeof(Realtime.SignalSnapshotRequest))]
[Union(62, typeof(Realtime.SignalSnapshot))]
[Union(63, typeof(Realtime.SignalKick))]
[Union(64, typeof(Realtime.SignalKicked))]
[Union(65, typeof(StoreReadRecords))]
[Union(66, typeof(StoreRecords))]
public abstract class BusMessage;

/// <summary>A call that failed on the node that took it. <see cref="Code"/> is one of <see cref="BusFault"/>'s constants or an engine error's name.</summary>
[MessagePackObject]
public sealed class BusFault : BusMessage
{
    public const string Unavailable = "unavailable";
    public const string NotPrimary = "not_primary";
    public const string Stale = "stale";
    public const string NotReady = "not_ready";
    public const string Internal = "internal";

    [Key(0)] public string Code { get; set; } = Internal;
    [Key(1)] public string Message { get; set; } = "";
    /// <summary>The engine's refusal (an <see cref="Kv4.Engine.Rules.EngineError"/> value), or -1.</summary>
    [Key(2)] public int EngineError { get; set; } = -1;
}

/// <summary>The answer to a call that has nothing to answer.</summary>
[MessagePackObject]
public sealed class Done : BusMessage
{
    public static readonly Done Instance = new();
}

internal static class BusSerializer
{
    /// <summary>Only nodes that proved the cluster key talk on the bus, but a bug there must not take a node down: untrusted-data limits stay on.</summary>
    public static readonly MessagePackSerializerOptions Options =
        MessagePack.Resolvers.StandardResolver.Options.WithSecurity(MessagePackSecurity.UntrustedData);
}
