using System.Buffers;
using System.Text;

namespace Kv4.Engine.Partitioning;

/// <summary>
/// A consistent-hash ring with virtual nodes that says which node owns each of the store's
/// partitions (0..PartitionCount-1), and, for any other 64-bit hash, which node owns that point.
/// Today one node owns everything; the cluster work adds nodes and streams the partitions that
/// change owner. The ring decides only ownership; (bucket, layer, path) -> partition is the
/// engine's PartitionMap.
///
/// How a point is owned. Every node puts <see cref="VirtualNodesPerNode"/> points ("virtual nodes")
/// on the 2^64 ring at <c>StableHash("nodeId#j")</c>, j = 0..V-1. A looked-up hash h is probed at
/// <see cref="ProbeCount"/> positions <c>Mix(h + i * golden)</c>; each probe walks clockwise to the
/// next virtual node, and the probe with the shortest walk wins (multi-probe consistent hashing,
/// Appleton and O'Reilly 2015). With one probe this is the classic ring, whose per-node share of
/// the hash space has a relative spread of 1/sqrt(V) ≈ 9 % for V = 128, so with a dozen nodes one
/// of them regularly holds more than 1.25x the mean. Taking the shortest of three walks favours no
/// node for owning long arcs and brings the largest share to about 1.15x the mean (see
/// docs/architecture.md, "Partitions and the ring").
///
/// Why it is still consistent. A node's virtual nodes depend only on its own id, so adding a node
/// can only shorten some walks, to the new node's points: the only points that move go to the new
/// node. Removing a node moves only the points it owned. The ring is a pure function of the set of
/// node ids (points are ordered by (position, node id)), so insertion order never matters.
///
/// Worked example: nodes "a" and "b", 2 virtual nodes each, 4 partitions (positions shown as their
/// top 16 bits; <c>HashRingTests.Worked_example_in_the_doc_comment_is_true</c> checks these numbers):
/// <code>
///   ring (sorted):  0x1128 "a#1" | 0x1d08 "a#0" | 0x3302 "b#1" | 0x49a0 "b#0"
///   partition 0: probes 0x9760 0xacef 0xfd2f all wrap round to 0x1128; 0xfd2f walks least -> a
///   partition 3: probes 0x73f0 0xb187 wrap to 0x1128, 0x4531 walks 0x046f to 0x49a0  -> b
///   partition owners: [a, a, a, b]
/// After RemoveNode("b") every probe walks to an "a#j" point: [a, a, a, a]. Only partition 3,
/// which b owned, moved; adding b back restores [a, a, a, b] exactly.
/// </code>
/// Thread-safe: lookups read an immutable snapshot; AddNode/RemoveNode build and publish a new one.
/// </summary>
public sealed class HashRing
{
    public const int DefaultPartitionCount = 64;
    public const int DefaultVirtualNodes = 128;
    public const int ProbeCount = 3;

    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    private readonly object writeLock = new();
    private volatile Snapshot current;

    public HashRing(int partitionCount = DefaultPartitionCount, int virtualNodesPerNode = DefaultVirtualNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodesPerNode, 1);
        PartitionCount = partitionCount;
        VirtualNodesPerNode = virtualNodesPerNode;
        current = Snapshot.Empty;
    }

    public int PartitionCount { get; }

    public int VirtualNodesPerNode { get; }

    /// <summary>The node ids on the ring, sorted ordinally.</summary>
    public IReadOnlyList<string> Nodes => current.NodesView;

    /// <summary>Adds a node. Returns false if it was already there.</summary>
    public bool AddNode(string nodeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        lock (writeLock)
        {
            var nodes = current.Nodes;
            if (Array.BinarySearch(nodes, nodeId, StringComparer.Ordinal) >= 0) return false;
            Publish([.. nodes, nodeId]);
            return true;
        }
    }

    /// <summary>Removes a node. Returns false if it was not there.</summary>
    public bool RemoveNode(string nodeId)
    {
        lock (writeLock)
        {
            var nodes = current.Nodes;
            if (Array.BinarySearch(nodes, nodeId, StringComparer.Ordinal) < 0) return false;
            Publish(nodes.Where(n => n != nodeId).ToList());
            return true;
        }
    }

    /// <summary>The node that owns <paramref name="partition"/>. Throws when the ring has no node.</summary>
    public string OwnerOfPartition(int partition)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, PartitionCount);
        var snapshot = RequireNodes();
        return snapshot.PartitionOwners[partition];
    }

    /// <summary>
    /// The first <paramref name="count"/> distinct nodes for a partition (fewer if the ring has fewer): the owner, then
    /// the next distinct nodes clockwise from the owner's winning point. A cluster keeps the partition's replicas on
    /// them. Adding a node changes a partition's list only where the new node enters it; removing one only where it was.
    /// </summary>
    public IReadOnlyList<string> OwnersOfPartition(int partition, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, PartitionCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var snapshot = RequireNodes();
        var owners = new List<string>(count);
        var start = LookupIndex(snapshot, PartitionHash(partition));
        for (var i = 0; i < snapshot.Owners.Length && owners.Count < Math.Min(count, snapshot.Nodes.Length); i++)
        {
            var node = snapshot.Owners[(start + i) % snapshot.Owners.Length];
            if (!owners.Contains(node)) owners.Add(node);
        }
        return owners;
    }

    /// <summary>The partitions a node owns, ascending (empty for an unknown node).</summary>
    public IReadOnlyList<int> PartitionsOf(string nodeId)
    {
        var owners = current.PartitionOwners;
        var result = new List<int>();
        for (var p = 0; p < owners.Length; p++)
            if (owners[p] == nodeId) result.Add(p);
        return result;
    }

    /// <summary>The node that owns the point <paramref name="hash"/>.</summary>
    public string OwnerOfHash(ulong hash) => Lookup(RequireNodes(), hash);

    /// <summary>The node that owns <paramref name="key"/> (hashed with <see cref="StableHash(string)"/>).</summary>
    public string OwnerOfKey(string key) => OwnerOfHash(StableHash(key));

    /// <summary>
    /// A 64-bit hash that is the same in every process and on every machine (unlike string.GetHashCode):
    /// FNV-1a over the UTF-8 bytes, then the MurmurHash3 finalizer so that short, similar strings
    /// ("n#1", "n#2") land far apart on the ring.
    /// </summary>
    public static ulong StableHash(string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var buffer = max <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(text, buffer);
            return StableHash(buffer[..length]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <inheritdoc cref="StableHash(string)"/>
    public static ulong StableHash(ReadOnlySpan<byte> bytes)
    {
        var h = 0xcbf29ce484222325UL;
        foreach (var b in bytes)
        {
            h ^= b;
            h *= 0x100000001b3UL;
        }
        return Mix(h);
    }

    /// <summary>The ring position a partition is looked up at.</summary>
    internal static ulong PartitionHash(int partition) => Mix((ulong)partition * Golden + 0x6b43a9b5UL);

    internal static ulong Probe(ulong hash, int i) => Mix(hash + (ulong)i * Golden);

    private static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }

    private Snapshot RequireNodes()
    {
        var snapshot = current;
        if (snapshot.Positions.Length == 0) throw new InvalidOperationException("the ring has no nodes");
        return snapshot;
    }

    private void Publish(List<string> nodes)
    {
        nodes.Sort(StringComparer.Ordinal);
        var points = new List<(ulong Position, string Node)>(nodes.Count * VirtualNodesPerNode);
        foreach (var node in nodes)
            for (var j = 0; j < VirtualNodesPerNode; j++)
                points.Add((StableHash($"{node}#{j}"), node));
        // Ties on position are broken by node id so the ring never depends on insertion order.
        points.Sort((x, y) => x.Position != y.Position ? x.Position.CompareTo(y.Position) : string.CompareOrdinal(x.Node, y.Node));

        var snapshot = new Snapshot(
            nodes.ToArray(),
            points.Select(p => p.Position).ToArray(),
            points.Select(p => p.Node).ToArray(),
            new string[PartitionCount]);
        for (var p = 0; p < PartitionCount; p++)
            snapshot.PartitionOwners[p] = snapshot.Positions.Length == 0 ? "" : Lookup(snapshot, PartitionHash(p));
        current = snapshot;
    }

    private static string Lookup(Snapshot snapshot, ulong hash) => snapshot.Owners[LookupIndex(snapshot, hash)];

    private static int LookupIndex(Snapshot snapshot, ulong hash)
    {
        var bestIndex = 0;
        var bestWalk = ulong.MaxValue;
        for (var i = 0; i < ProbeCount; i++)
        {
            var probe = Probe(hash, i);
            var index = Successor(snapshot.Positions, probe);
            var walk = unchecked(snapshot.Positions[index] - probe); // clockwise distance, wrapping at 2^64
            if (walk < bestWalk)
            {
                bestWalk = walk;
                bestIndex = index;
            }
        }
        return bestIndex;
    }

    /// <summary>Index of the first point at or after <paramref name="position"/>, wrapping to 0.</summary>
    private static int Successor(ulong[] positions, ulong position)
    {
        var index = Array.BinarySearch(positions, position);
        if (index < 0) index = ~index;
        else while (index > 0 && positions[index - 1] == position) index--;
        return index == positions.Length ? 0 : index;
    }

    /// <summary>An immutable state of the ring: sorted point positions with their owners, and the partition table.</summary>
    private sealed record Snapshot(string[] Nodes, ulong[] Positions, string[] Owners, string[] PartitionOwners)
    {
        /// <summary>The node ids as callers see them: a read-only view, so the shared array cannot be changed under other readers.</summary>
        public IReadOnlyList<string> NodesView { get; } = Array.AsReadOnly(Nodes);

        public static readonly Snapshot Empty = new([], [], [], []);
    }
}
