using System.Buffers;
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

        var writer = BackupWriter.Start(output, lanes.Count, cut.ToString(), options.Clock.GetUtcNow().ToUnixTimeMilliseconds());
        var buffer = new ArrayBufferWriter<byte>(4096);
        var from = log.BeginAddress;
        while (from < end)
        {
            var batch = ReadRecordBatch(from, end, BackupBatchRecords)
                ?? throw new Rules.EngineException(Rules.EngineError.Closed, "the store closed during the backup");
            if (batch.Records.Count == 0) break;
            foreach (var (record, address) in batch.Records)
            {
                if (record.Op == Operation.Truncate || lanes[record.Partition].IsVoid(record.PartitionSequence, address)) continue;
                record.WriteFramed(buffer);
                await writer.WriteRecordAsync(buffer.WrittenSpan, cancellationToken).ConfigureAwait(false);
            }
            from = batch.NextAddress;
        }
        return await writer.FinishAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A restore into this new store: appends a backup's record with its own version, as the next of its partition.
    /// Only <see cref="StoreRestore"/> calls it, on a store nobody else uses yet.
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
