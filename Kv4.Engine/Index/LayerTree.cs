using System.Collections.Concurrent;

namespace Kv4.Engine.Index;

/// <summary>
/// The paths of one (bucket, layer): a tree of <see cref="PathNode"/>s by segment, for listing paths
/// under a prefix, plus a flat path → node table, so that a hot read finds its node with one hash lookup
/// instead of walking segments. Nodes are never removed (a tombstone keeps its node so its history stays
/// reachable); only dropping the whole bucket frees them.
///
/// Worked example. After
///   put  a/b  k1 (seq 1)     put  a/c  k2 (seq 2, k2="x@y")     put  a/b/d  k3 (seq 3)
///   delete a/b k1 (seq 4)
/// the tree of layer "data" is
/// <code>
///   ""      live=0 subtree=2 entries: -                           (root)
///   └ "a"   live=0 subtree=2 entries: -                           (only a step: no tables allocated)
///     ├ "a/b"   live=0 subtree=1 entries: k1 → {tombstone, v4, log@a4}
///     │ └ "a/b/d" live=1 subtree=1 entries: k3 → {v3, log@a3}
///     └ "a/c"   live=1 subtree=1 entries: k2 → {v2, log@a2}  secondary k2: "x@y" → k2
///
///   byPath: "" → root, "a" → ·, "a/b" → ·, "a/b/d" → ·, "a/c" → ·      LiveEntries = 2
/// </code>
/// ListPaths("a") walks only branches with subtree &gt; 0 and returns the nodes with live &gt; 0:
/// ["a/b/d", "a/c"]; with maxDepth 2 only ["a/c"]. The history of a/b k1 starts at log@a4 (the
/// tombstone), whose previous address is a1 (the put), whose previous address is 0.
/// </summary>
internal sealed class LayerTree(string layer)
{
    private readonly ConcurrentDictionary<string, PathNode> nodesByPath = new(1, 16, StringComparer.Ordinal);
    private long liveEntries;

    public string Layer { get; } = layer;

    public PathNode Root { get; } = new("", "", 0, null);

    public long LiveEntries => Volatile.Read(ref liveEntries);

    public void AddLive(int delta) => Interlocked.Add(ref liveEntries, delta);

    public void ResetLive() => liveEntries = 0;

    public PathNode? Find(string path)
    {
        if (path.Length == 0) return Root;
        return nodesByPath.TryGetValue(path, out var node) ? node : null;
    }

    /// <summary>The path's lane only: the node of a normalised path, creating it and its ancestors (which other lanes may be creating too).</summary>
    public PathNode GetOrAdd(string path)
    {
        if (path.Length == 0) return Root;
        if (nodesByPath.TryGetValue(path, out var existing)) return existing;
        var node = Root;
        foreach (var range in path.AsSpan().Split('/'))
        {
            var segment = path[range];
            node = node.GetOrAddChild(segment);
            nodesByPath.TryAdd(node.Path, node);
        }
        return node;
    }

    public IEnumerable<PathNode> Nodes
    {
        get
        {
            yield return Root;
            foreach (var node in nodesByPath.Values)
                yield return node;
        }
    }

    /// <summary>Paths at or under <paramref name="prefix"/> with a live entry, at most <paramref name="maxDepth"/> segments deep, sorted ordinally.</summary>
    public List<string> ListPaths(string prefix, int? maxDepth)
    {
        var result = EnumeratePaths(prefix, maxDepth).ToList();
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <summary>
    /// Every node at or under <paramref name="prefix"/>, at most <paramref name="maxDepth"/> segments deep, unsorted,
    /// whether or not it holds a live entry now (a read as of an earlier instant needs the paths emptied since).
    /// </summary>
    public IEnumerable<PathNode> EnumerateNodes(string prefix, int? maxDepth) => Walk(prefix, maxDepth, liveOnly: false);

    /// <summary>The same paths as <see cref="ListPaths"/>, unsorted, found as the walk goes.</summary>
    public IEnumerable<string> EnumeratePaths(string prefix, int? maxDepth)
    {
        foreach (var node in Walk(prefix, maxDepth, liveOnly: true))
            if (node.LiveKeys > 0) yield return node.Path;
    }

    /// <summary>Depth-first from <paramref name="prefix"/>; with <paramref name="liveOnly"/>, subtrees without a live entry are not entered.</summary>
    private IEnumerable<PathNode> Walk(string prefix, int? maxDepth, bool liveOnly)
    {
        var start = Find(prefix);
        if (start is null) yield break;
        var limit = maxDepth ?? int.MaxValue;
        var pending = new Stack<PathNode>();
        pending.Push(start);
        while (pending.TryPop(out var node))
        {
            if (node.Depth > limit || (liveOnly && node.LiveInSubtree <= 0)) continue;
            yield return node;
            if (node.Children is { } children)
                foreach (var child in children.Values)
                    pending.Push(child);
        }
    }
}
