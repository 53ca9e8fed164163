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
