using Kv4.Engine.Compaction;
using Kv4.Engine.Index;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Partitioning;
using Kv4.Engine.Replication;
using Kv4.Engine.Model;

namespace Kv4.Engine.Recovery;

/// <summary>
/// Rebuilds the index at open: the newest valid <see cref="IndexCheckpoint"/>, then every log record
/// after it, in order (a checkpoint whose fuzzy copy reaches past damage met in the replay is passed over for an
/// older one or the whole log). Each record must be the next of its partition's lane (sequence = the lane's + 1,
/// epoch never lower), which is what the lanes appended; carries (copies of retained versions, which take no step) and
/// the truncate and rebase markers (which move the lane back, or on) are not steps; replay stops at the first record that is damaged
/// (FasterLog checksum failure, our CRC mismatch, not a record) or out of its lane's order. Everything from there
/// to the log's tail is reported as a damaged range, which the store then records in a fresh checkpoint so that the
/// range is never read again, neither by a later recovery nor by the change feed; what is lost is a suffix of each
/// partition, never a hole in one. New appends go after the tail.
/// <code>
///   log:  [ … covered by checkpoint … | r101 r102 r103 | ##damaged## | (tail) new appends … ]
///                                      ^ReplayFrom       ^Damaged.Start ^Damaged.End = tail at open
/// </code>
/// </summary>
internal static class StoreRecovery
{
    /// <param name="horizon">Where compaction left the log's history (<see cref="CompactionHorizon"/>): a replay of the whole log starts each partition after it.</param>
    public static RecoveredState Run(string dataDirectory, RecordLog log, int partitionCount, CompactionHorizon horizon)
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
            if (candidate.Header.PartitionSequences.Length != partitionCount) continue; // made with another partition count
            var state = Replay(candidate, knownDamage, log, tail, partitionCount, horizon);
            // Damage before the end of the checkpoint's fuzzy copy: the copy may reflect dropped records. An older
            // checkpoint (or the whole log) gives the exact prefix instead.
            if (state.Damaged is not { } damaged || damaged.Start >= candidate.CopiedUntilAddress) return state;
        }
        return Replay(null, knownDamage, log, tail, partitionCount, horizon);
    }

    private static RecoveredState Replay(LoadedCheckpoint? loaded, List<AddressRange> knownDamage, RecordLog log, long tail, int partitionCount,
        CompactionHorizon horizon)
    {
        var index = loaded?.Index ?? new StoreIndex();
        var partitionMap = new PartitionMap(partitionCount);
        var header = loaded?.Header;
        var lanes = header?.ToLanes(partitionCount) ?? AfterHorizon(partitionCount, horizon);
        var skipRanges = new List<AddressRange>(knownDamage);
        skipRanges.Sort((a, b) => a.Start.CompareTo(b.Start)); // Scan walks them in address order
        var from = header?.ReplayFromAddress ?? log.BeginAddress;

        AddressRange? damaged = null;
        long replayed = 0;
        var end = from;
        foreach (var item in log.Scan(from, tail, skipRanges))
        {
            end = item.NextAddress;
            var record = item.Record;
            if (record is { Format: < LogRecord.CurrentFormat })
                throw new NotSupportedException($"the log in this data directory is of record format {record.Format}, which this version " +
                    $"of Kv4 does not read (it writes format {LogRecord.CurrentFormat}): open it with the version that wrote it and export its data");
            if (record is { Op: Operation.Truncate } && record.Partition >= 0 && record.Partition < partitionCount
                && record.PartitionSequence <= lanes[record.Partition].Sequence)
            {
                ReplayTruncation(index, lanes[record.Partition], record.PartitionSequence, item.Address, log, horizon);
                continue;
            }
            if (record is { IsCarry: true, Op: Operation.Put or Operation.Delete } && record.Partition >= 0 && record.Partition < partitionCount)
            {
                // Not a step of its lane: a copy of a version the lane passed (which may replace its original), or one of
                // the retained versions a rebase takes before its lane goes on after them.
                Apply(index, record, item.Address, partitionMap);
                continue;
            }
            if (record is { Op: Operation.Rebase } && record.Partition >= 0 && record.Partition < partitionCount)
            {
                lanes[record.Partition].Rebase(record.PartitionSequence, EpochList.Decode(record.Value));
                continue;
            }
            if (record is null || record.IsCarry || record.Partition < 0 || record.Partition >= partitionCount
                || record.Op is not (Operation.Put or Operation.Delete or Operation.DropBucket or Operation.DropBucketPart)
                || record.PartitionSequence != lanes[record.Partition].Sequence + 1
                || record.Epoch < lanes[record.Partition].Epoch)
            {
                damaged = new AddressRange(item.Address, tail);
                break;
            }
            var lane = lanes[record.Partition];
            if (record.Epoch > lane.Epoch || lane.Epochs.Count == 0) lane.EnterEpoch(record.Epoch);
            Apply(index, record, item.Address, partitionMap);
            if (record.Op == Operation.DropBucketPart) lane.LastDropSequence = record.PartitionSequence;
            lane.Sequence = record.PartitionSequence;
            lane.Position = record.Version;
            lane.Sparse.Note(record.PartitionSequence, item.Address);
            replayed++;
        }
        // Records that stop short of the tail with no damaged one (a file cut exactly at a record's end): the rest is gone.
        if (damaged is null && ScannedUntil(end, skipRanges) is var reached && reached < tail) damaged = new AddressRange(reached, tail);
        if (damaged is { } range && range.Start < range.End)
            skipRanges.Add(range);
        else
            damaged = null;

        index.RebuildDerivedState();
        // Clean: the store closed (its last checkpoint says so and nothing follows it), or nothing was ever written.
        var clean = damaged is null && (header is { Closing: true } ? header.ReplayFromAddress == tail : header is null && replayed == 0);
        return new RecoveredState(index, lanes, skipRanges, damaged, replayed, clean);
    }

    /// <summary>Where a scan that read up to <paramref name="end"/> got to, counting the skipped ranges it reached (sorted by start).</summary>
    private static long ScannedUntil(long end, List<AddressRange> skipRanges)
    {
        foreach (var range in skipRanges)
            if (range.Start <= end && range.End > end) end = range.End;
        return end;
    }

    /// <summary>
    /// Lanes for a replay of the whole log after compaction truncated its head: each partition goes on after its newest
    /// version below the horizon (the lane's epochs before it are not known; that one is taken to have begun at 1).
    /// </summary>
    private static LaneSet AfterHorizon(int partitionCount, CompactionHorizon horizon)
    {
        var lanes = new LaneSet(partitionCount);
        for (var p = 0; p < partitionCount; p++)
        {
            var version = new VersionId(horizon.VersionOf(p));
            if (version.IsNone) continue;
            lanes[p].Sequence = version.PartitionSequence;
            lanes[p].Position = version.Value;
            lanes[p].Epochs.Add((version.Epoch, 1));
            lanes[p].RestoreEpoch(version.Epoch);
        }
        return lanes;
    }

    /// <summary>
    /// The checkpoints whose end of log is intact, newest first. A checkpoint's entries point into the log just
    /// before its replay address, so if the tail was damaged there (a flipped byte, a truncated file) the
    /// checkpoint would keep serving values whose records are gone and whose history cannot be read. The
    /// records between the last sparse-index point of any lane and the replay address are
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
            foreach (var address in header.SparseAddresses)
                if (address <= header.ReplayFromAddress) verifyFrom = Math.Max(verifyFrom, address);
            var skips = new List<AddressRange>();
            for (var i = 0; i < header.SkipStarts.Length; i++) skips.Add(new AddressRange(header.SkipStarts[i], header.SkipEnds[i]));
            var intact = true;
            var end = verifyFrom;
            foreach (var item in log.Scan(verifyFrom, header.ReplayFromAddress, skips))
            {
                end = item.NextAddress;
                if (item.Record is not null) continue;
                intact = false;
                break;
            }
            skips.Sort((a, b) => a.Start.CompareTo(b.Start));
            if (intact && ScannedUntil(end, skips) >= header.ReplayFromAddress) yield return candidate;
        }
    }

    /// <summary>
    /// A truncation marker: the same plan as the live truncation made, limited to entries written below the marker (a
    /// fuzzy checkpoint may hold newer ones, which stay).
    /// </summary>
    private static void ReplayTruncation(StoreIndex index, PartitionLane lane, long afterSequence, long markerAddress, RecordLog log, CompactionHorizon horizon)
    {
        if (lane.LastDropSequence > afterSequence) afterSequence = 0;
        var plan = Truncation.PlanAsync(index, lane.Partition, afterSequence, markerAddress, async pointer =>
            horizon.Resolve(pointer, out _) is var address and not 0 ? await log.ReadAsync(address, CancellationToken.None).ConfigureAwait(false) : null)
            .AsTask().GetAwaiter().GetResult();
        Truncation.Apply(index, plan, maintainDerived: false);
        lane.TruncateAfter(afterSequence, markerAddress);
    }

    /// <summary>Applies one replayed record; idempotent, because a fuzzy checkpoint may already hold a newer version.</summary>
    private static void Apply(StoreIndex index, LogRecord record, long address, PartitionMap partitionMap)
    {
        switch (record.Op)
        {
            case Operation.Put:
            case Operation.Delete:
                var existing = index.Find(record.Bucket, record.Layer, record.Path, record.Key);
                // A version met twice (an original and its carry, after a compaction cut short) counts at its higher address.
                if (existing is not null && (existing.Version > record.Version || (existing.Version == record.Version && existing.LogAddress >= address))) return;
                var value = record.Op == Operation.Put ? record.Value ?? "null"u8.ToArray() : null;
                var keys = record.Op == Operation.Put ? record.SecondaryKeys : default;
                index.Set(record.Bucket, record.Layer, record.Path, record.Key,
                    IndexEntry.Create(value, record.Version, record.TimestampMs, index.InternActor(record.Actor), address, keys),
                    maintainDerived: false);
                break;
            case Operation.DropBucket:
                index.DropBucket(record.Bucket);
                break;
            case Operation.DropBucketPart:
                var bucket = record.Bucket;
                index.DropBucketPart(bucket, record.Partition, (layer, path) => partitionMap.PartitionOf(bucket, layer, path), maintainDerived: false);
                break;
        }
    }
}

/// <summary>
/// The state a store starts from after <see cref="StoreRecovery.Run"/>. <see cref="CleanStop"/> is false when the
/// store may have stopped with records it had shown (in interval mode, to reads and the feed) that never reached disk.
/// </summary>
internal sealed record RecoveredState(
    StoreIndex Index,
    LaneSet Lanes,
    List<AddressRange> SkipRanges,
    AddressRange? Damaged,
    long ReplayedRecords,
    bool CleanStop);
