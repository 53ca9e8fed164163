namespace Kv4.Engine.Model;

/// <summary>
/// A set of partitions, for the operations a cluster sends to each node for the partitions it leads (a listing, a
/// subtree delete, a bucket drop, a feed). Null where a method takes one means every partition.
/// <code>
///   PartitionSet.Of(64, [0, 5, 63])    Contains(5) = true, Contains(6) = false, Count = 3
/// </code>
/// </summary>
public sealed class PartitionSet
{
    private readonly ulong[] bits;

    private PartitionSet(int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partitionCount, VersionId.MaxPartitions);
        PartitionCount = partitionCount;
        bits = new ulong[(partitionCount + 63) / 64];
    }

    public int PartitionCount { get; }

    public static PartitionSet Of(int partitionCount, IEnumerable<int> partitions)
    {
        var set = new PartitionSet(partitionCount);
        foreach (var p in partitions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(p);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(p, partitionCount);
            set.bits[p >> 6] |= 1UL << (p & 63);
        }
        return set;
    }

    public bool Contains(int partition) =>
        (uint)partition < (uint)PartitionCount && (bits[partition >> 6] & (1UL << (partition & 63))) != 0;

    public int Count
    {
        get
        {
            var n = 0;
            foreach (var word in bits) n += System.Numerics.BitOperations.PopCount(word);
            return n;
        }
    }

    public IEnumerable<int> Members()
    {
        for (var p = 0; p < PartitionCount; p++)
            if (Contains(p)) yield return p;
    }

    public override string ToString() => "[" + string.Join(",", Members()) + "]";
}
