using System.Buffers;
using Kv4.Engine.Backups;
using Kv4.Engine.Compaction;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;

namespace Kv4.Engine;

/// <summary>Online backups of a single store, and the appends a restore makes (<see cref="StoreRestore"/>).</summary>
public sealed partial class Kv4Store
{
    private const int BackupBatchRecords = 1024;

    /// <summary>
    /// Writes a backup of everything appended before this call (<see cref="BackupFile"/>) to <paramref name="output"/>
    /// while writes go on: the cut is one instant (every lane held for it), the feed cursor of that instant goes in
    /// the header, and the records below it are read back from the log in its order, in batches, so the store is
    /// never held while the output is slow. No compaction runs meanwhile. After one, its carries go first (a
    /// record above the horizon may lead to a carry appended after it, and a restore only points back), each
    /// partition's newest version below the horizon goes in the header, and a pointer into the reclaimed history is
    /// written as <see cref="BackupFile.TruncatedPointer"/>. A replica of a cluster is backed up through the cluster.
    /// </summary>
    public async ValueTask<BackupSummary> WriteBackupAsync(Stream output, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        if (options.Replicated)
            throw new InvalidOperationException("a cluster node's store holds copies the cluster decides about: back up the cluster");
        await compactionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            long end;
            FeedCursor cut;
            using (lanes.EnterAll())
            {
                ThrowIfClosed();
                end = log.TailAddress;
                cut = FeedCursor.Beginning(lanes.Count);
                foreach (var lane in lanes.All) cut.Set(lane.Partition, lane.Position);
            }
            await commits.WaitDurableAsync().ConfigureAwait(false);

            var current = Volatile.Read(ref horizon);
            var firstVersions = current.Address == 0 ? [] : Enumerable.Range(0, lanes.Count).Select(current.VersionOf).ToArray();
            var writer = BackupWriter.Start(output, BackupOrder.Log, lanes.Count, cut.ToString(), options.Clock.GetUtcNow().ToUnixTimeMilliseconds(),
                firstVersions);
            var pointers = new BackupPointers(current);
            if (current.Address != 0) await WriteBackupPassAsync(writer, end, pointers, carries: true, cancellationToken).ConfigureAwait(false);
            await WriteBackupPassAsync(writer, end, pointers, carries: false, cancellationToken).ConfigureAwait(false);
            return await writer.FinishAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            compactionGate.Release();
        }
    }

    /// <summary>One pass over the log below <paramref name="end"/>: its carries, or every other record.</summary>
    private async ValueTask WriteBackupPassAsync(BackupWriter writer, long end, BackupPointers pointers, bool carries, CancellationToken cancellationToken)
    {
        var batch = new List<(long Address, ReadOnlyMemory<byte> Framed)>(BackupBatchRecords);
        for (var from = Math.Max(log.BeginAddress, pointers.Horizon.Address); from < end;)
        {
            var next = ReadBackupBatch(from, end, pointers, carries, batch);
            // Everything below the cut was committed before the first read: a scan that stops short is damage, not the end.
            if (next <= from) throw new InvalidDataException($"the log ends at {from}, below the backup's cut at {end}");
            from = next;
            foreach (var (address, framed) in batch) await writer.WriteRecordAsync(address, framed.Span, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Fills <paramref name="batch"/> with up to <see cref="BackupBatchRecords"/> records of the pass from
    /// <paramref name="from"/> below <paramref name="end"/>, framed as stored unless a pointer had to be rewritten
    /// (<see cref="BackupPointers"/>); what is not a version is left out. Answers where the next batch starts. The log
    /// is held only while the batch is read, never while it is written out.
    /// </summary>
    private long ReadBackupBatch(long from, long end, BackupPointers pointers, bool carries, List<(long Address, ReadOnlyMemory<byte> Framed)> batch)
    {
        batch.Clear();
        if (!TryEnterLog(out var generation)) throw new Rules.EngineException(Rules.EngineError.Closed, "the store closed during the backup");
        try
        {
            var skip = Volatile.Read(ref skipRanges);
            // A range an earlier recovery found damaged holds nothing to back up (the scan jumps over it, too).
            foreach (var range in skip)
                if (range.Start <= from && from < range.End) from = range.End;
            if (from >= end) return end;
            foreach (var item in log.Scan(from, Math.Min(end, log.CommittedUntilAddress), skip))
            {
                if (item.Record is not { } record) throw new InvalidDataException($"damaged log record at address {item.Address}");
                if (batch.Count == BackupBatchRecords) return item.Address;
                from = item.NextAddress;
                if (record.Op is Operation.Truncate or Operation.Rebase || lanes[record.Partition].IsVoid(record.PartitionSequence, item.Address)) continue;
                if (!pointers.Takes(item.Address, record, carries)) continue;
                var previous = pointers.Map(record.PreviousAddress, carries);
                if (previous == record.PreviousAddress && !carries)
                {
                    batch.Add((item.Address, item.Framed));
                    continue;
                }
                record.PreviousAddress = previous;
                // Where it was carried from is an address of this log, which the restored one does not have.
                if (carries) record.CarriedFrom = BackupFile.TruncatedPointer;
                var buffer = new ArrayBufferWriter<byte>(item.Framed.Length + 16);
                record.WriteFramed(buffer);
                batch.Add((item.Address, buffer.WrittenMemory));
            }
            return from;
        }
        finally
        {
            ExitLog(generation);
        }
    }

    /// <summary>
    /// A restore of a backup in partition order into this new store: appends a record with its own version, as the next
    /// of its partition and of its key. Only <see cref="StoreRestore"/> calls it, on a store nobody else uses yet.
    /// </summary>
    internal void AppendRestored(LogRecord record)
    {
        if (record.Partition < 0 || record.Partition >= lanes.Count)
            throw new BackupException($"a record of partition {record.Partition} in a backup of {lanes.Count} partitions: damaged");
        if (record.Op is not (Operation.Put or Operation.Delete or Operation.DropBucket or Operation.DropBucketPart or Operation.Rebase))
            throw new BackupException($"a record of operation {record.Op} has no place in a backup: damaged");
        var lane = lanes[record.Partition];
        lock (lane.Gate)
        {
            ThrowIfClosed();
            // A compacted partition of a cluster: its retained versions, then where its records go on (Kv4Store.Rebase.cs).
            try
            {
                if (record.IsCarry)
                {
                    AppendRetainedLocked(lane, record);
                    return;
                }
                if (record.Op == Operation.Rebase)
                {
                    AppendRebaseLocked(lane, record.PartitionSequence, EpochList.Decode(record.Value));
                    return;
                }
            }
            catch (EngineException e) when (e.Error == EngineError.OutOfOrder)
            {
                throw new BackupException($"{e.Message}: records are missing or out of order");
            }
            if (lane.Sequence == 0) lane.ForgetEpochs();
            if (record.PartitionSequence != lane.Sequence + 1 || record.Epoch < lane.Epoch)
                throw new BackupException($"partition {lane.Partition} is at record {lane.Sequence} (epoch {lane.Epoch}) and the backup's next is " +
                    $"{record.PartitionSequence} (epoch {record.Epoch}): records are missing or out of order");
            lane.EnterEpoch(record.Epoch);
            record.Actor = index.InternActor(record.Actor);
            var current = record.Op is Operation.Put or Operation.Delete ? index.Find(record.Bucket, record.Layer, record.Path, record.Key) : null;
            AppendRecordLocked(lane, record, current, olderElsewhere: record.PreviousAddress != 0);
            if (record.Op == Operation.DropBucket) index.DropBucket(record.Bucket);
        }
    }
}
