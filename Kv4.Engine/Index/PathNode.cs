using System.Collections.Concurrent;
using Kv4.Engine.Model;

namespace Kv4.Engine.Index;

/// <summary>
/// One path of a (bucket, layer): the hash table of its keys, its secondary-key tables, its child
/// segments, and live-entry counts for itself and its subtree (so listings skip empty branches without
/// looking inside). Its entries and secondary-key tables are written only under the lane of its path's partition;
/// its children and counts by the lanes of every path below it, so those are created and changed atomically.
/// Read without locks (the tables are concurrent dictionaries, the counts are read with Volatile). Tables are
/// created on first use because most nodes of a tree are only steps to deeper paths.
/// </summary>
internal sealed class PathNode(string path, string segment, int depth, PathNode? parent)
{
    private ConcurrentDictionary<string, IndexEntry>? entries;
    private ConcurrentDictionary<string, PathNode>? children;
    private ConcurrentDictionary<string, string>?[]? secondary;
    private int liveKeys;
    private long liveInSubtree;

    /// <summary>The full normalised path ("" for the root).</summary>
    public string Path { get; } = path;
    /// <summary>The last segment ("" for the root).</summary>
    public string Segment { get; } = segment;
    /// <summary>Number of segments from the root: "" is 0, "a/b" is 2.</summary>
    public int Depth { get; } = depth;
    public PathNode? Parent { get; } = parent;

    public int LiveKeys => Volatile.Read(ref liveKeys);
    public long LiveInSubtree => Volatile.Read(ref liveInSubtree);

    /// <summary>Every entry of this path, tombstones included; null when no key was ever written here.</summary>
    public ConcurrentDictionary<string, IndexEntry>? Entries => Volatile.Read(ref entries);

    public ConcurrentDictionary<string, PathNode>? Children => Volatile.Read(ref children);

    public IndexEntry? Find(string key) =>
        Volatile.Read(ref entries) is { } table && table.TryGetValue(key, out var entry) ? entry : null;

    public ConcurrentDictionary<string, IndexEntry> EntriesForWrite()
    {
        if (Volatile.Read(ref entries) is { } existing) return existing;
        Interlocked.CompareExchange(ref entries, new ConcurrentDictionary<string, IndexEntry>(1, 4, StringComparer.Ordinal), null);
        return entries!;
    }

    public PathNode GetOrAddChild(string childSegment)
    {
        var table = Volatile.Read(ref children);
        if (table is null)
        {
            Interlocked.CompareExchange(ref children, new ConcurrentDictionary<string, PathNode>(1, 4, StringComparer.Ordinal), null);
            table = children!;
        }
        if (table.TryGetValue(childSegment, out var child)) return child;
        // Two lanes may create the same step at once: one node wins, and both go on with it.
        var childPath = Path.Length == 0 ? childSegment : string.Concat(Path, "/", childSegment);
        return table.GetOrAdd(childSegment, new PathNode(childPath, childSegment, Depth + 1, this));
    }

    /// <summary>Adds <paramref name="delta"/> live keys here and to the subtree counts of every ancestor.</summary>
    public void AddLive(int delta)
    {
        Interlocked.Add(ref liveKeys, delta);
        for (var node = this; node is not null; node = node.Parent)
            Interlocked.Add(ref node.liveInSubtree, delta);
    }

    /// <summary>The key that owns a secondary key value here, if any.</summary>
    public string? SecondaryOwner(SecondaryKeySlot slot, string value)
    {
        var tables = Volatile.Read(ref secondary);
        var table = tables?[SlotIndex(slot)];
        return table is not null && table.TryGetValue(value, out var key) ? key : null;
    }

    public void SetSecondary(SecondaryKeys keys, string key)
    {
        if (keys.K2 is { } k2) SecondaryForWrite(SecondaryKeySlot.K2)[k2] = key;
        if (keys.K3 is { } k3) SecondaryForWrite(SecondaryKeySlot.K3)[k3] = key;
        if (keys.K4 is { } k4) SecondaryForWrite(SecondaryKeySlot.K4)[k4] = key;
    }

    /// <summary>Removes the secondary keys of <paramref name="key"/> except those in <paramref name="keep"/>, leaving values another key has since taken.</summary>
    public void RemoveSecondary(SecondaryKeys keys, string key, SecondaryKeys keep)
    {
        var tables = secondary;
        if (tables is null) return;
        Remove(tables[0], keys.K2, keep.K2);
        Remove(tables[1], keys.K3, keep.K3);
        Remove(tables[2], keys.K4, keep.K4);

        void Remove(ConcurrentDictionary<string, string>? table, string? value, string? kept)
        {
            if (table is not null && value is not null && value != kept)
                table.TryRemove(new KeyValuePair<string, string>(value, key));
        }
    }

    /// <summary>Recovery: drops the derived state (counts, secondary tables) before it is recomputed from the entries.</summary>
    public void ResetDerived()
    {
        liveKeys = 0;
        liveInSubtree = 0;
        secondary = null;
    }

    private ConcurrentDictionary<string, string> SecondaryForWrite(SecondaryKeySlot slot)
    {
        if (secondary is null)
            Volatile.Write(ref secondary, new ConcurrentDictionary<string, string>?[3]);
        var index = SlotIndex(slot);
        if (secondary![index] is null)
            Volatile.Write(ref secondary[index], new ConcurrentDictionary<string, string>(1, 4, StringComparer.Ordinal));
        return secondary[index]!;
    }

    private static int SlotIndex(SecondaryKeySlot slot) => (int)slot - 2;
}
