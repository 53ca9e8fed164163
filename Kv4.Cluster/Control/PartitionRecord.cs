using MessagePack;

namespace Kv4.Cluster.Control;

/// <summary>
/// Where one partition lives. <see cref="Epoch"/> is the primary's term: it goes into every version the primary
/// writes and rises with every new primary. <see cref="Config"/> rises with every change of the record (a new
/// primary, a replica added, the in-sync set shrinking or growing); a command that changes the record names the
/// config it saw, so a command decided on an old view is refused. <see cref="Replicas"/> and <see cref="InSync"/>
/// include the primary.
/// </summary>
[MessagePackObject]
public sealed record PartitionRecord
{
    [Key(0)] public int Epoch { get; init; }
    [Key(1)] public long Config { get; init; }
    /// <summary>Null while the partition has no primary (its primary was lost and no in-sync replica is up).</summary>
    [Key(2)] public string? Primary { get; init; }
    [Key(3)] public string[] Replicas { get; init; } = [];
    [Key(4)] public string[] InSync { get; init; } = [];

    public bool IsReplica(string node) => Array.IndexOf(Replicas, node) >= 0;

    public bool IsInSync(string node) => Array.IndexOf(InSync, node) >= 0;

    [IgnoreMember] public IEnumerable<string> Backups => Replicas.Where(r => r != Primary);
}
