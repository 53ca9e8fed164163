using System.Buffers;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Replication;
using Kv4.Engine.Rules;

namespace Kv4.Engine;

/// <summary>The part of the store a cluster drives through <see cref="StoreReplication"/>: roles, backups' appends, truncation.</summary>
public sealed partial class Kv4Store
{
    /// <summary>How long a refused compare-and-set waits for the version it lost to to be acknowledged.</summary>
    private static readonly TimeSpan AcknowledgementPatience = TimeSpan.FromSeconds(5);

    private IAppendObserver? appendObserver;

    /// <summary>The way a cluster drives this store (<see cref="StoreOptions.Replicated"/>); null for a store of its own.</summary>
    public StoreReplication? Replication { get; }

    internal void Observe(IAppendObserver observer) => appendObserver = observer;

    internal PartitionLane LaneOf(int partition) => lanes[partition];

    internal PartitionState StateOf(int partition)
    {
        var lane = lanes[partition];
        lock (lane.Gate)
            return new PartitionState(partition, lane.Role, lane.Epoch, lane.Sequence, lane.Position, lane.VisibleVersion, lane.DurableVersion, [.. lane.Epochs]);
    }

    internal void Configure(int partition, PartitionRole role, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(epoch, VersionId.MaxEpoch);
        var lane = lanes[partition];
        lock (lane.Gate)
        {
            ThrowIfClosed();
            var wasPrimary = lane.Role == PartitionRole.Primary;
            if (role == PartitionRole.Primary)
            {
                if (epoch < lane.Epoch)
                    throw new InvalidOperationException($"partition {partition} has records of epoch {lane.Epoch}, above the {epoch} it is to lead in");
                lane.EnterEpoch(epoch);
                // A new primary's in-sync backups hold what it holds (the cluster promotes the most advanced one).
                if (!wasPrimary) lane.ResetVisibility(lane.Position);
            }
            lane.Role = role;
        }
    }

    internal void Acknowledge(int partition, long sequence)
    {
        var lane = lanes[partition];
        long version;
        lock (lane.Gate) version = lane.VersionOf(Math.Min(sequence, lane.Sequence));
        lane.Show(version);
    }

    internal long Apply(ReadOnlySpan<byte> framedRecord)
    {
        ThrowIfClosed();
        var record = LogRecord.TryReadFramed(framedRecord.ToArray());
        if (record is null || record.Op is not (Operation.Put or Operation.Delete or Operation.DropBucketPart)
            || record.Partition < 0 || record.Partition >= lanes.Count)
            throw new EngineException(EngineError.OutOfOrder, "not a replicated record");
        var lane = lanes[record.Partition];
        lock (lane.Gate)
        {
            ThrowIfClosed();
            ThrowIfNotBackup(lane);
            if (record.PartitionSequence <= lane.Sequence)
            {
                if (lane.VersionOf(record.PartitionSequence) == record.Version) return record.PartitionSequence; // sent again
                throw new EngineException(EngineError.OutOfOrder, $"partition {lane.Partition} already has another record {record.PartitionSequence}");
            }
            if (record.PartitionSequence != lane.Sequence + 1 || record.Epoch < lane.Epoch)
                throw new EngineException(EngineError.OutOfOrder,
                    $"partition {lane.Partition} is at {lane.Sequence} (epoch {lane.Epoch}), the record is {record.PartitionSequence} (epoch {record.Epoch})");
            if (record.Epoch > lane.Epoch || lane.Epochs.Count == 0) lane.EnterEpoch(record.Epoch);
            record.Actor = index.InternActor(record.Actor);
            var current = record.Op == Operation.DropBucketPart ? null : index.Find(record.Bucket, record.Layer, record.Path, record.Key);
            AppendRecordLocked(lane, record, current, olderElsewhere: record.PreviousAddress != 0);
            return record.PartitionSequence;
        }
    }

    internal ValueTask AfterApplyAsync() => AfterAppendAsync(null);

    /// <summary>The lane held: only a backup takes its primary's records (and retained versions).</summary>
    private static void ThrowIfNotBackup(PartitionLane lane)
    {
        if (lane.Role != PartitionRole.Backup)
            throw new EngineException(EngineError.NotPrimary, $"this node is not a backup of partition {lane.Partition}");
    }

    internal async ValueTask<long> TruncateAsync(int partition, long afterSequence)
    {
        ThrowIfClosed();
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        var lane = lanes[partition];
        if (lane.Role is PartitionRole.Primary or PartitionRole.Solo)
            throw new InvalidOperationException($"partition {partition} is led by this node: it is never truncated");
        if (afterSequence >= lane.Sequence) return lane.Sequence;
        // A compaction planned before the truncation would carry the voided records past its marker (Kv4Store.Rebase.cs).
        await compactionGate.WaitAsync().ConfigureAwait(false);
        try
        {
            // The records to void are read back through their chains: on disk first.
            await commits.WaitDurableAsync().ConfigureAwait(false);
            // A drop cannot be undone entry by entry (the entries are gone): the whole partition goes, to be copied again.
            if (lane.LastDropSequence > afterSequence) afterSequence = 0;
            var generation = EnterLog();
            List<Truncation.Step> plan;
            try
            {
                plan = await Truncation.PlanAsync(index, partition, afterSequence, long.MaxValue, ReadFollowingAsync).ConfigureAwait(false);
            }
            finally
            {
                ExitLog(generation);
            }
            lock (lane.Gate)
            {
                ThrowIfClosed();
                var marker = AppendTruncateMarkerLocked(lane, afterSequence);
                Truncation.Apply(index, plan, maintainDerived: true);
                lane.TruncateAfter(afterSequence, marker);
            }
        }
        finally
        {
            compactionGate.Release();
        }
        // On disk before any record takes a voided sequence again.
        await commits.WaitDurableAsync().ConfigureAwait(false);
        return afterSequence;
    }

    /// <summary>The record a chain pointer leads to, through compaction's redirects; null where the retained history ends.</summary>
    private async ValueTask<LogRecord?> ReadFollowingAsync(long pointer) =>
        Follow(pointer) is var address and not 0 ? await log.ReadAsync(address, CancellationToken.None).ConfigureAwait(false) : null;

    private long AppendTruncateMarkerLocked(PartitionLane lane, long afterSequence)
    {
        var record = new LogRecord
        {
            Partition = lane.Partition,
            PartitionSequence = afterSequence,
            Epoch = lane.EpochOf(afterSequence),
            Format = LogRecord.CurrentFormat,
            TimestampMs = options.Clock.GetUtcNow().ToUnixTimeMilliseconds(),
            Op = Operation.Truncate,
        };
        var buffer = new ArrayBufferWriter<byte>(256);
        record.WriteFramed(buffer);
        return log.Append(buffer.WrittenSpan);
    }

    internal async ValueTask<(PartitionRecords Records, long ResumeAddress)> ReadRecordsAsync(int partition, long afterSequence, long resumeAddress,
        int maxRecords, int maxBytes)
    {
        ThrowIfClosed();
        var lane = lanes[partition];
        if (afterSequence >= lane.Sequence) return (new PartitionRecords([], afterSequence), resumeAddress);
        if (HistoryStartSequence(partition) is var start && afterSequence < start)
            throw new EngineException(EngineError.HistoryTruncated,
                $"partition {partition}'s records up to {start} were compacted: a replica after {afterSequence} must rebase");
        if (log.CommittedUntilAddress < log.TailAddress) await commits.WaitDurableAsync().ConfigureAwait(false);
        if (!TryEnterLog(out var generation)) throw new EngineException(EngineError.Closed, "the store is closed");
        try
        {
            var from = Math.Max(lane.Sparse.StartAddressAfter(afterSequence, log.BeginAddress), resumeAddress);
            var records = new List<byte[]>();
            var next = afterSequence + 1;
            long bytes = 0;
            var resume = from;
            var buffer = new ArrayBufferWriter<byte>(4096);
            foreach (var item in log.Scan(from, log.CommittedUntilAddress, Volatile.Read(ref skipRanges)))
            {
                if (item.Record is not { } record) throw new InvalidDataException($"damaged log record at address {item.Address}");
                if (records.Count >= maxRecords || bytes >= maxBytes) break;
                resume = item.Address;
                if (record.Partition != partition || record.Op is Operation.Truncate or Operation.Rebase || record.IsCarry || lane.IsVoid(record.PartitionSequence, item.Address)) continue;
                if (record.PartitionSequence < next) continue;
                if (record.PartitionSequence != next)
                    throw new InvalidDataException($"partition {partition} has record {record.PartitionSequence} where {next} was due");
                record.WriteFramed(buffer);
                records.Add(buffer.WrittenSpan.ToArray());
                bytes += buffer.WrittenCount;
                next++;
            }
            return (new PartitionRecords(records, next - 1), resume);
        }
        finally
        {
            ExitLog(generation);
        }
    }
}
