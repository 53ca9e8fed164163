using System.Buffers;
using System.Text;

namespace Kv4.Engine.Partitioning;

/// <summary>
/// Maps (bucket, layer, path) to one of <see cref="PartitionCount"/> partitions with FNV-1a 64 over the
/// UTF-8 bytes of the three parts (separated by 0xFF, a byte UTF-8 never contains), modulo the count.
/// The hash is stable across processes and machines (string.GetHashCode is not), because the partition
/// is stored in every log record and later decides which node streams it. All keys of one path share
/// a partition, so a path's listing and history never span partitions.
/// </summary>
internal sealed class PartitionMap(int partitionCount)
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public int PartitionCount { get; } = partitionCount > 0
        ? partitionCount
        : throw new ArgumentOutOfRangeException(nameof(partitionCount), "at least one partition");

    public int PartitionOf(string bucket, string layer, string path)
    {
        var hash = OffsetBasis;
        hash = Mix(hash, bucket);
        hash = Mix(hash, layer);
        hash = Mix(hash, path);
        return (int)(hash % (ulong)PartitionCount);
    }

    public static ulong Fnv1a(ReadOnlySpan<byte> bytes, ulong hash = OffsetBasis)
    {
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= Prime;
        }
        return hash;
    }

    private static ulong Mix(ulong hash, string part)
    {
        var max = Encoding.UTF8.GetMaxByteCount(part.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var written = Encoding.UTF8.GetBytes(part, buffer);
            hash = Fnv1a(buffer[..written], hash);
            hash ^= 0xFF;
            return hash * Prime;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
