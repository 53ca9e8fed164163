using Kv4.Engine.Feed;
using Kv4.Engine.Index;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Engine.Recovery;

/// <summary>
/// Rebuilds the index at open: the newest valid <see cref="IndexCheckpoint"/>, then every log record
/// after it, in order (a checkpoint whose fuzzy copy reaches past damage met in the replay is passed over for an
/// older one or the whole log). Replay stops at the first record that is damaged (FasterLog checksum failure,
/// our CRC mismatch, not a record) or out of sequence; everything from there to the log's tail is
/// reported as a damaged range, which the store then records in a fresh checkpoint so that the range is
/// never read again, neither by a later recovery nor by the change feed. New appends go after the tail.
/// <code>
///   log:  [ … covered by checkpoint … | r101 r102 r103 | ##damaged## | (tail) new appends … ]
///                                      ^ReplayFrom       ^Damaged.Start ^Damaged.End = tail at open
/// </code>
/// </summary>
internal static class StoreRecovery
{
    public static RecoveredState Run(string dataDirectory, RecordLog log, int partitionCount)
    {
        var tail = log.TailAddress;
        // Ranges found damaged at earlier recoveries (the ledger, and the newer checkpoints): an older checkpoint or
        // the whole log must skip them too, or its replay would stop at old damage and drop every write since.
        var knownDamage = DamageLedger.Read(dataDirectory);
        foreach (var candidate in TrustworthyCheckpoints(dataDirectory, log, tail))
        {
            for (var i = 0; i < candidate.Header.SkipStarts.Length; i++)
            {
                var range = new AddressRange(candidate.Header.SkipStarts[i], candidate.Header.SkipEnds[i]);
                if (!knownDamage.Contains(range)) knownDamage.Add(range);
            }
            var state = Replay(candidate, knownDamage, log, tail, partitionCount);
            // Damage before the end of the checkpoint's fuzzy copy: the copy may reflect dropped records. An older
            // checkpoint (or the whole log) gives the exact prefix instead.
            if (state.Damaged is not { } damaged || damaged.Start >= candidate.CopiedUntilAddress) return state;
        }
        return Replay(null, knownDamage, log, tail, partitionCount);
    }

    private static RecoveredState Replay(LoadedCheckpoint? loaded, List<AddressRange> knownDamage, RecordLog log, long tail, int partitionCount)
    {
        var index = loaded?.Index ?? new StoreIndex();
        var header = loaded?.Header;
        var partitionSequences = new long[partitionCount];
        var sequenceIndex = new SequenceIndex();
        var skipRanges = new List<AddressRange>(knownDamage);
        skipRanges.Sort((a, b) => a.Start.CompareTo(b.Start)); // Scan walks them in address order
        var lastSequence = 0L;
        var from = log.BeginAddress;
        if (header is not null)
        {
            lastSequence = header.Sequence;
            from = header.ReplayFromAddress;
            Array.Copy(header.PartitionSequences, partitionSequences, Math.Min(partitionCount, header.PartitionSequences.Length));
            sequenceIndex.Load(header.SparseSequences, header.SparseAddresses);
        }

        AddressRange? damaged = null;
        long replayed = 0;
        foreach (var item in log.Scan(from, tail, skipRanges))
        {
            var record = item.Record;
            if (record is null || record.Sequence != lastSequence + 1 || record.Partition < 0 || record.Partition >= partitionCount
                || record.Op is not (Operation.Put or Operation.Delete or Operation.DropBucket))
            {
                damaged = new AddressRange(item.Address, tail);
                break;
            }
            Apply(index, record, item.Address);
            lastSequence = record.Sequence;
            partitionSequences[record.Partition] = Math.Max(partitionSequences[record.Partition], record.PartitionSequence);
            sequenceIndex.Note(record.Sequence, item.Address);
            replayed++;
        }
        if (damaged is { } range && range.Start < range.End)
            skipRanges.Add(range);
        else
            damaged = null;

        index.RebuildDerivedState();
        return new RecoveredState(index, lastSequence, partitionSequences, sequenceIndex, skipRanges, damaged, replayed);
    }

    /// <summary>
    /// The checkpoints whose end of log is intact, newest first. A checkpoint's entries point into the log just
    /// before its replay address, so if the tail was damaged there (a flipped byte, a truncated file) the
    /// checkpoint would keep serving values whose records are gone and whose history cannot be read. The
    /// records between the last sparse-index point and the replay address (at most one stride) are
    /// checked; a checkpoint that fails is passed over for an older one or for a full replay, which
    /// then stops at the damage like any other.
    /// </summary>
    private static IEnumerable<LoadedCheckpoint> TrustworthyCheckpoints(string dataDirectory, RecordLog log, long tail)
    {
        foreach (var candidate in IndexCheckpoint.LoadNewestFirst(dataDirectory))
        {
            var header = candidate.Header;
            if (header.ReplayFromAddress > tail || header.ReplayFromAddress < log.BeginAddress) continue;
            var verifyFrom = log.BeginAddress;
            for (var i = header.SparseAddresses.Length - 1; i >= 0; i--)
            {
                if (header.SparseAddresses[i] > header.ReplayFromAddress) continue;
                verifyFrom = header.SparseAddresses[i];
                break;
            }
            var skips = new List<AddressRange>();
            for (var i = 0; i < header.SkipStarts.Length; i++) skips.Add(new AddressRange(header.SkipStarts[i], header.SkipEnds[i]));
            var intact = true;
            foreach (var item in log.Scan(verifyFrom, header.ReplayFromAddress, skips))
            {
                if (item.Record is not null) continue;
                intact = false;
                break;
            }
            if (intact) yield return candidate;
        }
    }

    /// <summary>Applies one replayed record; idempotent, because a fuzzy checkpoint may already hold a newer version.</summary>
    private static void Apply(StoreIndex index, LogRecord record, long address)
    {
        switch (record.Op)
        {
            case Operation.Put:
            case Operation.Delete:
                var existing = index.Find(record.Bucket, record.Layer, record.Path, record.Key);
                if (existing is not null && existing.Version >= record.Sequence) return;
                var value = record.Op == Operation.Put ? record.Value ?? "null"u8.ToArray() : null;
                var keys = record.Op == Operation.Put ? record.SecondaryKeys : default;
                index.Set(record.Bucket, record.Layer, record.Path, record.Key,
                    IndexEntry.Create(value, record.Sequence, record.TimestampMs, index.InternActor(record.Actor), address, keys),
                    maintainDerived: false);
                break;
            case Operation.DropBucket:
                index.DropBucket(record.Bucket);
                break;
        }
    }
}

/// <summary>The state a store starts from after <see cref="StoreRecovery.Run"/>.</summary>
internal sealed record RecoveredState(
    StoreIndex Index,
    long LastSequence,
    long[] PartitionSequences,
    SequenceIndex SequenceIndex,
    List<AddressRange> SkipRanges,
    AddressRange? Damaged,
    long ReplayedRecords);
