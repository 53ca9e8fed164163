namespace Kv4.Services.Access;

/// <summary>How much of the tree below its path a call touches: the deny list is asked for the path, or for the whole subtree.</summary>
public enum Reach
{
    /// <summary>One path (and, for reads of a key, one entry).</summary>
    Path,
    /// <summary>Every path below: a DELETE without `k`.</summary>
    Subtree,
    /// <summary>A stream of every change below, open until it ends: SSE and WebSocket watches.</summary>
    Watch,
}
