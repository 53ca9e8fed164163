using Kv4.Cluster.Bus;
using MessagePack;

namespace Kv4.Cluster.Replication;

/// <summary>A primary to a backup: the partition's next records, in order, and what is acknowledged so far.</summary>
[MessagePackObject]
public sealed class Replicate : BusMessage
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public int Epoch { get; set; }
    [Key(2)] public byte[][] Records { get; set; } = [];
    [Key(3)] public long Acknowledged { get; set; }
}

/// <summary>A backup's answer: the last sequence it holds, and the last one on its disk.</summary>
[MessagePackObject]
public sealed class Replicated : BusMessage
{
    [Key(0)] public long Applied { get; set; }
    [Key(1)] public long Durable { get; set; }
}

/// <summary>
/// A primary, before it streams to a backup: its history (epochs and last sequence). The backup voids what it holds
/// beyond the histories' common part (<see cref="Kv4.Engine.Replication.StoreReplication.CommonSequence"/>).
/// </summary>
[MessagePackObject]
public sealed class SyncBackup : BusMessage
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public int Epoch { get; set; }
    [Key(2)] public int[] Epochs { get; set; } = [];
    [Key(3)] public long[] FirstSequences { get; set; } = [];
    [Key(4)] public long Sequence { get; set; }
}

[MessagePackObject]
public sealed class BackupSynced : BusMessage
{
    /// <summary>The backup's last sequence after voiding: the primary streams from the next one.</summary>
    [Key(0)] public long Sequence { get; set; }
}

/// <summary>The steps of a rebase (see Kv4.Engine's Kv4Store.Rebase.cs), in this order, each answered with <see cref="Replicated"/>.</summary>
public enum RebaseStage : byte
{
    /// <summary>The backup voids its whole copy of the partition.</summary>
    Reset = 0,
    /// <summary>It takes the next of the primary's retained versions (<see cref="RebaseBackup.Records"/>, in sequence order).</summary>
    Retained = 1,
    /// <summary>Its partition goes on after <see cref="RebaseBackup.Sequence"/>, in the epochs given.</summary>
    Done = 2,
}

/// <summary>
/// A primary to a backup that needs records the primary has compacted away: instead of them, the partition's retained
/// versions up to the primary's history start, then the records after it as usual.
/// </summary>
[MessagePackObject]
public sealed class RebaseBackup : BusMessage
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public int Epoch { get; set; }
    [Key(2)] public RebaseStage Stage { get; set; }
    [Key(3)] public byte[][] Records { get; set; } = [];
    [Key(4)] public long Sequence { get; set; }
    [Key(5)] public int[] Epochs { get; set; } = [];
    [Key(6)] public long[] FirstSequences { get; set; } = [];
}
