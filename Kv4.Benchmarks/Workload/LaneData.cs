using System.Buffers;
using System.Text;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Partitioning;

namespace Kv4.Benchmarks.Workload;

/// <summary>
/// The keys the partition-lane benchmarks write, in every peer's form. The 10k keys of <see cref="BenchData"/>
/// are split over two paths that hash to different partitions: the first half at <see cref="TwoPaths"/>[0],
/// the second at [1], so that <see cref="Threads.Run"/> with two threads gives each thread its own partition.
/// The sync writers get one path each, on as many different partitions as there are writers.
/// Peers see the same address as one UTF-8 key (bucket, layer, path and key joined by NUL, as in BenchData),
/// and FasterLog gets the framed log record Kv4 itself appends for that put.
/// </summary>
public static class LaneData
{
    /// <summary>Kv4's default partition count; <see cref="Check"/> makes sure the store under test agrees.</summary>
    public const int PartitionCount = 64;

    public const int SyncWriters = 64;

    /// <summary>Keys each sync writer cycles over at its own path.</summary>
    public const int KeysPerWriter = 64;

    private static readonly PartitionMap Partitions = new(PartitionCount);

    public static readonly string[] TwoPaths = PathsOnDistinctPartitions("lane", 2);

    public static readonly EntryAddress[] Addresses = Enumerable.Range(0, BenchData.KeyCount)
        .Select(i => new EntryAddress(BenchData.Bucket, BenchData.Layer, TwoPaths[i < BenchData.KeyCount / 2 ? 0 : 1], BenchData.Keys[i]))
        .ToArray();

    public static readonly byte[][] PeerKeys = Addresses.Select(PeerKey).ToArray();

    public static readonly byte[][] Records = Addresses.Select((a, i) => RecordOf(a, i + 1)).ToArray();

    public static readonly string[] WriterPaths = PathsOnDistinctPartitions("writer", SyncWriters);

    /// <summary>WriterAddresses[w][j]: writer w's j-th key, at its own path.</summary>
    public static readonly EntryAddress[][] WriterAddresses = WriterPaths
        .Select(p => BenchData.Keys.Take(KeysPerWriter).Select(k => new EntryAddress(BenchData.Bucket, BenchData.Layer, p, k)).ToArray())
        .ToArray();

    public static readonly byte[][][] WriterPeerKeys = WriterAddresses.Select(w => w.Select(PeerKey).ToArray()).ToArray();

    public static int PartitionOf(EntryAddress a) => Partitions.PartitionOf(a.Bucket, a.Layer, a.Path);

    /// <summary>Throws unless the store maps the lane paths as this class assumed (a changed default would silently put both threads on one partition).</summary>
    public static void Check(Kv4.Engine.Kv4Store store)
    {
        foreach (var a in Addresses.Take(1).Concat(Addresses.TakeLast(1)).Concat(WriterAddresses.Select(w => w[0])))
            if (store.PartitionOf(a.Bucket, a.Layer, a.Path) != PartitionOf(a))
                throw new InvalidOperationException($"the store puts {a} on partition {store.PartitionOf(a.Bucket, a.Layer, a.Path)}, the lane data assumed {PartitionOf(a)}");
    }

    private static byte[] PeerKey(EntryAddress a) => Encoding.UTF8.GetBytes($"{a.Bucket}\0{a.Layer}\0{a.Path}\0{a.Key}");

    // The first `count` paths "<stem>/<n>" whose partitions are all different (the search is deterministic).
    private static string[] PathsOnDistinctPartitions(string stem, int count)
    {
        var taken = new HashSet<int>();
        var paths = new List<string>(count);
        for (var n = 0; paths.Count < count; n++)
        {
            var path = $"{stem}/{n}";
            if (taken.Add(Partitions.PartitionOf(BenchData.Bucket, BenchData.Layer, path))) paths.Add(path);
        }
        return [.. paths];
    }

    // What Kv4's put appends for this address: an overwrite (so it links a previous version) by the bench actor.
    private static byte[] RecordOf(EntryAddress a, long sequence)
    {
        var record = new LogRecord
        {
            Partition = PartitionOf(a),
            PartitionSequence = sequence,
            Format = LogRecord.CurrentFormat,
            TimestampMs = 1_764_633_600_000 + sequence,
            Actor = BenchData.Actor,
            Op = Operation.Put,
            Bucket = a.Bucket,
            Layer = a.Layer,
            Path = a.Path,
            Key = a.Key,
            Value = BenchData.Value,
            PreviousAddress = (1L << 30) + 192 * sequence,
        };
        var buffer = new ArrayBufferWriter<byte>(256);
        record.WriteFramed(buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
