namespace Kv4.Engine;

/// <summary>When a reader (a read, a listing, the feed) may see a new version.</summary>
internal enum VisibilityGate
{
    /// <summary>At its append, before its commit (durable reads off).</summary>
    Appended,
    /// <summary>Once its record is committed to this node's disk (durable reads on).</summary>
    Committed,
    /// <summary>Once the cluster acknowledged it: every in-sync replica of its partition has it.</summary>
    Acknowledged,
}
