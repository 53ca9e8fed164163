using System.Collections.Concurrent;

namespace Kv4.Engine.Index;

/// <summary>
/// Everything memory knows: bucket → layer → path → key → <see cref="IndexEntry"/>.
/// <code>
///   StoreIndex ── "elena" : BucketIndex ── "data" : LayerTree ── path tree + byPath ── PathNode ── key → IndexEntry
///              └─ "$sys"  : BucketIndex ── "acc"  : LayerTree ...
/// </code>
/// An entry changes only under the lane of its partition; the shared parts of the tree (buckets, layers, the nodes
/// above a path) are created with atomic get-or-add, so writers of different partitions can grow them at once.
/// Lookups take no lock. Derived state (live counts,
/// secondary-key tables) is kept up to date by <see cref="Set"/> while the store runs; recovery loads entries
/// raw and calls <see cref="RebuildDerivedState"/> once at the end, because a fuzzy checkpoint plus replay
/// may visit an entry several times.
/// </summary>
internal sealed class StoreIndex
{
    private readonly ConcurrentDictionary<string, BucketIndex> buckets = new(1, 64, StringComparer.Ordinal);
    // Actors repeat across millions of versions; one string instance each keeps the entries small.
    private readonly ConcurrentDictionary<string, string> actors = new(StringComparer.Ordinal);

    public BucketIndex? FindBucket(string bucket) => buckets.TryGetValue(bucket, out var b) ? b : null;

    public ICollection<BucketIndex> Buckets => buckets.Values;

    public LayerTree? FindLayer(string bucket, string layer) =>
        buckets.TryGetValue(bucket, out var b) && b.Layers.TryGetValue(layer, out var tree) ? tree : null;

    public PathNode? FindNode(string bucket, string layer, string path) => FindLayer(bucket, layer)?.Find(path);

    /// <summary>The entry of a key, tombstone included; null when the index never saw it (or its bucket was dropped).</summary>
    public IndexEntry? Find(string bucket, string layer, string path, string key) => FindNode(bucket, layer, path)?.Find(key);

    public string InternActor(string actor) => actors.GetOrAdd(actor, actor);

    /// <summary>The path's lane only: resolves (creating) the node an entry goes to.</summary>
    public (BucketIndex Bucket, LayerTree Layer, PathNode Node) GetOrAddNode(string bucket, string layer, string path)
    {
        if (!buckets.TryGetValue(bucket, out var b))
            b = buckets.GetOrAdd(bucket, static name => new BucketIndex(name));
        var tree = b.GetOrAddLayer(layer);
        return (b, tree, tree.GetOrAdd(path));
    }

    /// <summary>
    /// The key's lane only: publishes <paramref name="entry"/> as the latest version of a key.
    /// With <paramref name="maintainDerived"/> the live counts and secondary-key tables follow.
    /// </summary>
    public void Set(string bucket, string layer, string path, string key, IndexEntry entry, bool maintainDerived)
    {
        var (b, tree, node) = GetOrAddNode(bucket, layer, path);
        var table = node.EntriesForWrite();
        table.TryGetValue(key, out var previous);
        table[key] = entry;
        if (!maintainDerived) return;

        // Add before remove, and keep values the new version still carries: a concurrent lookup by
        // secondary key never misses an entry that holds it in both versions.
        var kept = entry.IsLive ? entry.SecondaryKeys : default;
        if (!kept.IsEmpty) node.SetSecondary(kept, key);
        if (previous is not null && !previous.SecondaryKeys.IsEmpty) node.RemoveSecondary(previous.SecondaryKeys, key, kept);

        var delta = (entry.IsLive ? 1 : 0) - (previous?.IsLive == true ? 1 : 0);
        if (delta != 0)
        {
            node.AddLive(delta);
            tree.AddLive(delta);
            b.AddLive(delta);
        }
    }

    /// <summary>
    /// The key's lane only: the key leaves the index (a replica voiding the key's only versions). Its node stays, like
    /// every node; its live count and secondary keys follow.
    /// </summary>
    public void Remove(string bucket, string layer, string path, string key, bool maintainDerived = true)
    {
        if (FindBucket(bucket) is not { } b || !b.Layers.TryGetValue(layer, out var tree) || tree.Find(path) is not { Entries: { } table } node) return;
        if (!table.TryRemove(key, out var previous) || !maintainDerived) return;
        if (!previous.SecondaryKeys.IsEmpty) node.RemoveSecondary(previous.SecondaryKeys, key, default);
        if (!previous.IsLive) return;
        node.AddLive(-1);
        tree.AddLive(-1);
        b.AddLive(-1);
    }

    /// <summary>
    /// The lane of <paramref name="partition"/> only: the bucket's entries of that partition leave the index, histories
    /// and all (a replicated store drops a bucket one partition at a time). Returns how many of them were live.
    /// </summary>
    public long DropBucketPart(string bucket, int partition, Func<string, string, int> partitionOf, bool maintainDerived = true)
    {
        if (FindBucket(bucket) is not { } b) return 0;
        long live = 0;
        foreach (var tree in b.Layers.Values)
        foreach (var node in tree.Nodes)
        {
            if (node.Entries is not { IsEmpty: false } entries || partitionOf(tree.Layer, node.Path) != partition) continue;
            foreach (var key in entries.Keys)
            {
                if (entries.TryGetValue(key, out var entry) && entry.IsLive) live++;
                Remove(bucket, tree.Layer, node.Path, key, maintainDerived);
            }
        }
        return live;
    }

    /// <summary>Every lane held: the bucket leaves the index with every entry and history pointer. Returns its live count.</summary>
    public long DropBucket(string bucket) => buckets.TryRemove(bucket, out var b) ? b.LiveEntries : 0;

    /// <summary>Recovery: recomputes live counts and secondary-key tables from the entries.</summary>
    public void RebuildDerivedState()
    {
        foreach (var b in buckets.Values)
        {
            b.ResetLive();
            foreach (var tree in b.Layers.Values)
            {
                tree.ResetLive();
                foreach (var node in tree.Nodes) node.ResetDerived();
                foreach (var node in tree.Nodes)
                {
                    if (node.Entries is not { } entries) continue;
                    var live = 0;
                    foreach (var (key, entry) in entries)
                    {
                        if (!entry.IsLive) continue;
                        live++;
                        if (!entry.SecondaryKeys.IsEmpty) node.SetSecondary(entry.SecondaryKeys, key);
                    }
                    if (live == 0) continue;
                    node.AddLive(live);
                    tree.AddLive(live);
                    b.AddLive(live);
                }
            }
        }
    }
}
