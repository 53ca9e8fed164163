namespace Kv4.Engine.Lanes;

/// <summary>What this node does with a partition.</summary>
public enum PartitionRole
{
    /// <summary>A store of its own (no cluster): local writes, epochs raised by the store at an unclean open.</summary>
    Solo,
    /// <summary>This node orders the partition's writes; its records go to the backups.</summary>
    Primary,
    /// <summary>This node keeps a copy: it appends only the primary's records, in their order.</summary>
    Backup,
    /// <summary>This node has no part in the partition (what it may still hold is not served).</summary>
    None,
}
