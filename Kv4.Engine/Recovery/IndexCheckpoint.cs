using System.Buffers.Binary;
using System.Globalization;
using Kv4.Engine.Index;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using MessagePack;

namespace Kv4.Engine.Recovery;

/// <summary>
/// A snapshot of the index on disk, so that opening a store replays only the log after it.
/// File <c>checkpoints/index-&lt;records appended, 20 digits&gt;.ckpt</c>:
/// <code>
///   [ CheckpointHeader ][ CheckpointPath ]* [ CheckpointFooter ]  -- MessagePack objects, back to back
///   [ CRC-32C of all of the above : 4 bytes LE ][ "KV4CKPT1" : 8 bytes ]
/// </code>
/// The header records what the snapshot covers: in each partition, every mutation up to its sequence there, and
/// the log address (ReplayFromAddress) where the records after them start; and each lane's epochs and sparse index. The snapshot is fuzzy: the entries are
/// read without stopping writers, so some may already be newer than Sequence; replay is idempotent
/// (a record older than the entry it would replace is ignored), which makes that harmless — as long as the
/// replay gets past every record the copy may reflect (up to the footer's CopiedUntilAddress). If damage stops
/// the replay before that, the copy may hold values from the dropped records (or lack a bucket whose dropping
/// was dropped), so recovery passes over such a checkpoint (see <see cref="StoreRecovery"/>).
/// It is written to a temporary file, fsynced, and renamed over, so a crash leaves either the old or the
/// new checkpoint; a file whose trailer or CRC does not check out is ignored and an older one (or a full
/// replay of the log) is used instead.
/// </summary>
internal static class IndexCheckpoint
{
    /// <summary>2 since partition lanes: a checkpoint of another format is passed over (the log is replayed instead).</summary>
    public const int FormatVersion = 2;
    private const int EntriesPerBlock = 4096;
    private static readonly byte[] Magic = "KV4CKPT1"u8.ToArray();
    private const int TrailerBytes = 12;

    public static string DirectoryOf(string dataDirectory) => Path.Combine(dataDirectory, "checkpoints");

    /// <summary>
    /// Writes a checkpoint of <paramref name="index"/> described by <paramref name="header"/>.
    /// <paramref name="tailAddress"/> is asked once the entries are read: the fuzzy copy may reflect any record
    /// before that address (the footer keeps it, see <see cref="LoadedCheckpoint.CopiedUntilAddress"/>).
    /// <paramref name="makeLogDurable"/> runs after the entries are read and before the file is published:
    /// a checkpoint must never hold an entry whose log record could still be lost.
    /// </summary>
    public static async Task WriteAsync(string dataDirectory, CheckpointHeader header, StoreIndex index, Func<long> tailAddress, Func<Task> makeLogDurable)
    {
        var directory = DirectoryOf(dataDirectory);
        Directory.CreateDirectory(directory);
        var finalPath = Path.Combine(directory, $"index-{header.Records.ToString("D20", CultureInfo.InvariantCulture)}.ckpt");
        var tempPath = finalPath + ".tmp";
        var options = LogRecord.SerializerOptions;
        await using (var file = new FileStream(tempPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            uint crc = 0;
            void Write(byte[] bytes)
            {
                crc = Crc32C.Append(crc, bytes);
                file.Write(bytes);
            }

            Write(MessagePackSerializer.Serialize(header, options));
            long blocks = 0, entries = 0;
            var batch = new List<CheckpointEntry>(EntriesPerBlock);
            foreach (var bucket in index.Buckets)
            foreach (var layer in bucket.Layers.Values)
            foreach (var node in layer.Nodes)
            {
                if (node.Entries is not { } table) continue;
                foreach (var (key, entry) in table)
                {
                    var keys = entry.SecondaryKeys;
                    batch.Add(new CheckpointEntry
                    {
                        Key = key, Value = entry.Value, Version = entry.Version, TimestampMs = entry.TimestampMs,
                        Actor = entry.Actor, LogAddress = entry.LogAddress, K2 = keys.K2, K3 = keys.K3, K4 = keys.K4,
                    });
                    if (batch.Count == EntriesPerBlock) Flush();
                }
                Flush();

                void Flush()
                {
                    if (batch.Count == 0) return;
                    Write(MessagePackSerializer.Serialize(new CheckpointPath
                    {
                        Bucket = bucket.Bucket, Layer = layer.Layer, Path = node.Path, Entries = [.. batch],
                    }, options));
                    blocks++;
                    entries += batch.Count;
                    batch.Clear();
                }
            }
            Write(MessagePackSerializer.Serialize(new CheckpointFooter { PathBlocks = blocks, Entries = entries, CopiedUntilAddress = tailAddress() }, options));

            var trailer = new byte[TrailerBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
            Magic.CopyTo(trailer, 4);
            file.Write(trailer);

            await makeLogDurable().ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        File.Move(tempPath, finalPath, overwrite: true);
        Prune(directory, keep: 2);
    }

    /// <summary>The checkpoints that check out (trailer, CRC, format), newest first, each loaded into a fresh index.</summary>
    public static IEnumerable<LoadedCheckpoint> LoadNewestFirst(string dataDirectory)
    {
        var directory = DirectoryOf(dataDirectory);
        if (!Directory.Exists(directory)) yield break;
        foreach (var path in Directory.GetFiles(directory, "index-*.ckpt").OrderDescending(StringComparer.Ordinal))
        {
            if (TryLoad(path) is { } loaded) yield return loaded;
        }
    }

    private static LoadedCheckpoint? TryLoad(string path)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length < TrailerBytes || !bytes.AsSpan(bytes.Length - Magic.Length).SequenceEqual(Magic)) return null;
            var body = bytes.AsMemory(0, bytes.Length - TrailerBytes);
            if (Crc32C.Compute(body.Span) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(body.Length))) return null;

            var options = LogRecord.SerializerOptions;
            var header = MessagePackSerializer.Deserialize<CheckpointHeader>(body, options, out var read);
            if (header.FormatVersion != FormatVersion) return null;
            body = body[read..];
            var index = new StoreIndex();
            long blocks = 0, entries = 0;
            while (true)
            {
                // A path block is a 4-element array, a footer a 3-element one (2 before it kept CopiedUntilAddress).
                var reader = new MessagePackReader(body);
                var isFooter = reader.ReadArrayHeader() != 4;
                if (isFooter)
                {
                    var footer = MessagePackSerializer.Deserialize<CheckpointFooter>(body, options, out read);
                    if (footer.PathBlocks != blocks || footer.Entries != entries || read != body.Length) return null;
                    // A footer without the address: take the copy as exact (the replay address), as such files were read before.
                    return new LoadedCheckpoint(header, index, Math.Max(footer.CopiedUntilAddress, header.ReplayFromAddress));
                }
                var block = MessagePackSerializer.Deserialize<CheckpointPath>(body, options, out read);
                body = body[read..];
                blocks++;
                var table = index.GetOrAddNode(block.Bucket, block.Layer, block.Path).Node.EntriesForWrite();
                foreach (var e in block.Entries)
                {
                    entries++;
                    var keys = new SecondaryKeys(e.K2, e.K3, e.K4);
                    table[e.Key] = IndexEntry.Create(e.Value, e.Version, e.TimestampMs, index.InternActor(e.Actor), e.LogAddress, keys);
                }
            }
        }
        catch (Exception e) when (e is IOException or MessagePackSerializationException or EndOfStreamException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void Prune(string directory, int keep)
    {
        foreach (var stale in Directory.GetFiles(directory, "index-*.ckpt").OrderDescending(StringComparer.Ordinal).Skip(keep))
        {
            try { File.Delete(stale); }
            catch (IOException) { }
        }
        foreach (var temp in Directory.GetFiles(directory, "*.tmp"))
        {
            try { File.Delete(temp); }
            catch (IOException) { }
        }
    }
}

/// <summary>What a checkpoint covers; see <see cref="IndexCheckpoint"/>. Arrays by partition are indexed by partition.</summary>
[MessagePackObject]
internal sealed class CheckpointHeader
{
    [Key(0)] public int FormatVersion { get; set; } = IndexCheckpoint.FormatVersion;
    /// <summary>How many records all partitions had appended: orders checkpoint files.</summary>
    [Key(1)] public long Records { get; set; }
    /// <summary>The log address where the first record after the partitions' sequences starts.</summary>
    [Key(2)] public long ReplayFromAddress { get; set; }
    /// <summary>Each partition's last sequence: every mutation up to it is in the snapshot (later ones may be too).</summary>
    [Key(3)] public long[] PartitionSequences { get; set; } = [];
    /// <summary>The lanes' sparse indexes, flattened: point i is (SparsePartitions[i], SparseSequences[i]) at SparseAddresses[i].</summary>
    [Key(4)] public long[] SparseSequences { get; set; } = [];
    [Key(5)] public long[] SparseAddresses { get; set; } = [];
    /// <summary>Log regions found damaged at a recovery: [start, end) pairs, never read again.</summary>
    [Key(6)] public long[] SkipStarts { get; set; } = [];
    [Key(7)] public long[] SkipEnds { get; set; } = [];
    [Key(8)] public long CreatedUnixMs { get; set; }
    [Key(9)] public int[] SparsePartitions { get; set; } = [];
    /// <summary>Each partition's last version (its feed position).</summary>
    [Key(10)] public long[] PartitionPositions { get; set; } = [];
    /// <summary>The lanes' epochs, flattened: (EpochPartitions[i], Epochs[i]) began at sequence EpochFirstSequences[i].</summary>
    [Key(11)] public int[] EpochPartitions { get; set; } = [];
    [Key(12)] public int[] Epochs { get; set; } = [];
    [Key(13)] public long[] EpochFirstSequences { get; set; } = [];
    /// <summary>Written by a store that was closing: nothing was appended after it, so an open that finds the log's tail at its replay address knows the stop was clean.</summary>
    [Key(14)] public bool Closing { get; set; }
    /// <summary>The lanes' truncations, flattened: partition TruncationPartitions[i] voided its records after TruncationAfter[i] below TruncationBefore[i].</summary>
    [Key(15)] public int[] TruncationPartitions { get; set; } = [];
    [Key(16)] public long[] TruncationAfter { get; set; } = [];
    [Key(17)] public long[] TruncationBefore { get; set; } = [];
    /// <summary>Each partition's last bucket-drop sequence (replicated stores; empty otherwise).</summary>
    [Key(18)] public long[] LastDropSequences { get; set; } = [];

    /// <summary>Each lane's <see cref="Lanes.PartitionLane.BaseVersion"/> (absent in older checkpoints: none).</summary>
    [Key(19)] public long[] BaseVersions { get; set; } = [];

    /// <summary>Every lane held: the header of a checkpoint taken now.</summary>
    public static CheckpointHeader Of(LaneSet lanes, long tailAddress, IReadOnlyList<AddressRange> skipRanges, long nowMs, bool closing)
    {
        var header = new CheckpointHeader
        {
            Records = lanes.TotalRecords(),
            ReplayFromAddress = tailAddress,
            PartitionSequences = new long[lanes.Count],
            PartitionPositions = lanes.Positions(),
            SkipStarts = [.. skipRanges.Select(r => r.Start)],
            SkipEnds = [.. skipRanges.Select(r => r.End)],
            CreatedUnixMs = nowMs,
            Closing = closing,
        };
        List<int> sparsePartitions = [], epochPartitions = [], epochs = [];
        List<long> sparseSequences = [], sparseAddresses = [], epochFirsts = [];
        List<int> truncationPartitions = [];
        List<long> truncationAfter = [], truncationBefore = [];
        header.LastDropSequences = new long[lanes.Count];
        header.BaseVersions = new long[lanes.Count];
        foreach (var lane in lanes.All)
        {
            header.PartitionSequences[lane.Partition] = lane.Sequence;
            header.LastDropSequences[lane.Partition] = lane.LastDropSequence;
            header.BaseVersions[lane.Partition] = lane.BaseVersion;
            foreach (var (after, before) in lane.Truncations)
            {
                truncationPartitions.Add(lane.Partition);
                truncationAfter.Add(after);
                truncationBefore.Add(before);
            }
            var (sequences, addresses) = lane.Sparse.Snapshot();
            for (var i = 0; i < sequences.Length; i++) sparsePartitions.Add(lane.Partition);
            sparseSequences.AddRange(sequences);
            sparseAddresses.AddRange(addresses);
            foreach (var (epoch, first) in lane.Epochs)
            {
                epochPartitions.Add(lane.Partition);
                epochs.Add(epoch);
                epochFirsts.Add(first);
            }
        }
        header.SparsePartitions = [.. sparsePartitions];
        header.SparseSequences = [.. sparseSequences];
        header.SparseAddresses = [.. sparseAddresses];
        header.EpochPartitions = [.. epochPartitions];
        header.Epochs = [.. epochs];
        header.EpochFirstSequences = [.. epochFirsts];
        header.TruncationPartitions = [.. truncationPartitions];
        header.TruncationAfter = [.. truncationAfter];
        header.TruncationBefore = [.. truncationBefore];
        return header;
    }

    /// <summary>Recovery: the lanes as this header left them.</summary>
    public LaneSet ToLanes(int partitionCount)
    {
        var lanes = new LaneSet(partitionCount);
        if (PartitionSequences.Length != partitionCount) throw new InvalidDataException("a checkpoint of another partition count");
        for (var p = 0; p < partitionCount; p++)
        {
            lanes[p].Sequence = PartitionSequences[p];
            lanes[p].Position = p < PartitionPositions.Length ? PartitionPositions[p] : 0;
            lanes[p].LastDropSequence = p < LastDropSequences.Length ? LastDropSequences[p] : 0;
            lanes[p].BaseVersion = p < BaseVersions.Length ? BaseVersions[p] : 0;
        }
        for (var i = 0; i < TruncationPartitions.Length; i++)
            lanes[TruncationPartitions[i]].Truncations.Add((TruncationAfter[i], TruncationBefore[i]));
        for (var i = 0; i < EpochPartitions.Length; i++)
        {
            var lane = lanes[EpochPartitions[i]];
            lane.Epochs.Add((Epochs[i], EpochFirstSequences[i]));
            lane.RestoreEpoch(Epochs[i]);
        }
        for (var start = 0; start < SparsePartitions.Length;)
        {
            var end = start;
            while (end < SparsePartitions.Length && SparsePartitions[end] == SparsePartitions[start]) end++;
            lanes[SparsePartitions[start]].Sparse.Load(SparseSequences.AsSpan(start, end - start), SparseAddresses.AsSpan(start, end - start));
            start = end;
        }
        return lanes;
    }
}

[MessagePackObject]
internal sealed class CheckpointPath
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Layer { get; set; } = "";
    [Key(2)] public string Path { get; set; } = "";
    [Key(3)] public CheckpointEntry[] Entries { get; set; } = [];
}

[MessagePackObject]
internal sealed class CheckpointEntry
{
    [Key(0)] public string Key { get; set; } = "";
    [Key(1)] public byte[]? Value { get; set; }
    [Key(2)] public long Version { get; set; }
    [Key(3)] public long TimestampMs { get; set; }
    [Key(4)] public string Actor { get; set; } = "";
    [Key(5)] public long LogAddress { get; set; }
    [Key(6)] public string? K2 { get; set; }
    [Key(7)] public string? K3 { get; set; }
    [Key(8)] public string? K4 { get; set; }
}

[MessagePackObject]
internal sealed class CheckpointFooter
{
    [Key(0)] public long PathBlocks { get; set; }
    [Key(1)] public long Entries { get; set; }
    /// <summary>The log's tail when the entries had been read: the copy may reflect any record before it.</summary>
    [Key(2)] public long CopiedUntilAddress { get; set; }
}
