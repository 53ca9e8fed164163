using Kv4.Engine.Backups;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Engine;

/// <summary>Online backups of a single store, and the appends a restore makes (<see cref="StoreRestore"/>).</summary>
public sealed partial class Kv4Store
{
    private const int BackupBatchRecords = 1024;

    /// <summary>
    /// Writes a backup of everything appended before this call (<see cref="BackupFile"/>) to <paramref name="output"/>
    /// while writes go on: the cut is one instant (every lane held for it), the feed cursor of that instant goes in
    /// the header, and the records below it are read back from the log in its order, in batches, so the store is
    /// never held while the output is slow. A replica of a cluster is backed up through the cluster, not alone.
    /// </summary>
    public async ValueTask<BackupSummary> WriteBackupAsync(Stream output, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        if (options.Replicated)
            throw new InvalidOperationException("a cluster node's store holds copies the cluster decides about: back up the cluster");
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

        var writer = BackupWriter.Start(output, BackupOrder.Log, lanes.Count, cut.ToString(), options.Clock.GetUtcNow().ToUnixTimeMilliseconds());
        var batch = new List<(long Address, ReadOnlyMemory<byte> Framed)>(BackupBatchRecords);
        for (var from = log.BeginAddress; from < end;)
        {
            var next = ReadBackupBatch(from, end, batch);
            // Everything below the cut was committed before the first read: a scan that stops short is damage, not the end.
            if (next <= from) throw new InvalidDataException($"the log ends at {from}, below the backup's cut at {end}");
            from = next;
            foreach (var (address, framed) in batch) await writer.WriteRecordAsync(address, framed.Span, cancellationToken).ConfigureAwait(false);
        }
        return await writer.FinishAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fills <paramref name="batch"/> with the framed bytes, as stored, of up to <see cref="BackupBatchRecords"/> records
    /// from <paramref name="from"/> below <paramref name="end"/> (what is not a version left out); answers where the next
    /// batch starts. The log is held only while the batch is read, never while it is written out.
    /// </summary>
    private long ReadBackupBatch(long from, long end, List<(long Address, ReadOnlyMemory<byte> Framed)> batch)
    {
        batch.Clear();
        if (!TryEnterLog()) throw new Rules.EngineException(Rules.EngineError.Closed, "the store closed during the backup");
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
                if (record.Op != Operation.Truncate && !lanes[record.Partition].IsVoid(record.PartitionSequence, item.Address)) batch.Add((item.Address, item.Framed));
                from = item.NextAddress;
            }
            return from;
        }
        finally
        {
            ExitLog();
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
        if (record.Op is not (Operation.Put or Operation.Delete or Operation.DropBucket or Operation.DropBucketPart))
            throw new BackupException($"a record of operation {record.Op} has no place in a backup: damaged");
        var lane = lanes[record.Partition];
        lock (lane.Gate)
        {
            ThrowIfClosed();
            if (lane.Sequence == 0) lane.ForgetEpochs();
            if (record.PartitionSequence != lane.Sequence + 1 || record.Epoch < lane.Epoch)
                throw new BackupException($"partition {lane.Partition} is at record {lane.Sequence} (epoch {lane.Epoch}) and the backup's next is " +
                    $"{record.PartitionSequence} (epoch {record.Epoch}): records are missing or out of order");
            lane.EnterEpoch(record.Epoch);
            record.Actor = index.InternActor(record.Actor);
            var current = record.Op is Operation.Put or Operation.Delete ? index.Find(record.Bucket, record.Layer, record.Path, record.Key) : null;
            AppendRecordLocked(lane, record, current);
            if (record.Op == Operation.DropBucket) index.DropBucket(record.Bucket);
        }
    }
}
