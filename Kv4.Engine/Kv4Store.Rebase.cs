using System.Buffers;
using Kv4.Engine.Compaction;
using Kv4.Engine.Index;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Replication;
using Kv4.Engine.Rules;

namespace Kv4.Engine;

/// <summary>
/// Rebase: how a replica takes a partition from a primary that has compacted away records the replica lacks. The
/// primary's history of the partition up to its history start S (the newest version below its compaction horizon, or
/// where its own copy was taken by a rebase) exists only as carries: the versions retained there. The replica voids
/// its whole copy, takes those retained versions in sequence order (each appended here as a carry, chained to the
/// key's previous one taken), then a rebase marker: the lane goes on after S in the primary's epochs, and the
/// primary streams its records from S + 1 as it would to any backup. Worked example, MaxVersions=1, the primary at 7
/// with its history start 5: j put #1 and deleted #3 (an earlier compaction took #1, this one the tombstone, so j left
/// the index), k put #2, #4, #5 (#5 retained, carried), m put #6 and #7 above the horizon:
/// <code>
///   primary p4:  carry k #5 (prev → below its horizon)    records above it: #6 m, #7 m (prev #6)
///   replica p4:  #1..#2 held (behind: it was down), so j is alive there
///     reset         truncate marker after 0 @900        #1..#2 void; the lane at 0; no entry of p4 in the index
///     retained      k #5 carry @950 (prev 1: older history not retained here)
///     rebase        marker @990 (S 5, epochs [(1,1)])   lane at 5, BaseVersion v(1,4,5); j is gone, as on the primary
///     stream        #6 m @1000, #7 m @1050 (prev @1000) as any backup; a feed reader before v(1,4,5) is told it was truncated
/// </code>
/// The whole copy goes rather than only what the replica lacks: a key the primary forgot entirely (a tombstone and
/// everything before it outside retention) would otherwise stay alive on the replica. The primary holds compaction
/// off while it reads the retained versions out (<see cref="HoldCompactionAsync"/>), so they are one consistent set;
/// a reader that cannot hold it (a cluster's backup, page by page over the network) checks that the horizon it read
/// from is still the one (<see cref="RetainedPage.HorizonAddress"/>). Truncations wait for a running compaction too:
/// a compaction planned before a truncation must not carry records the truncation voids past its marker.
/// </summary>
public sealed partial class Kv4Store
{
    /// <summary>
    /// The partition's history start: the sequence of the newest version it no longer has as a record (below the
    /// compaction horizon, or before a rebase); 0 when it has every record. A replica behind it must rebase.
    /// </summary>
    internal long HistoryStartSequence(int partition) =>
        new VersionId(Math.Max(Volatile.Read(ref horizon).VersionOf(partition), lanes[partition].BaseVersion)).PartitionSequence;

    /// <summary>Holds compaction off until the answer is disposed (a running one finishes first).</summary>
    internal async ValueTask<IAsyncDisposable> HoldCompactionAsync(CancellationToken cancellationToken)
    {
        await compactionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new CompactionHold(compactionGate);
    }

    private sealed class CompactionHold(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) gate.Release();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// The partition's retained versions after <paramref name="afterSequence"/> up to its history start, in sequence
    /// order, at most <paramref name="maxRecords"/> and about <paramref name="maxBytes"/> of them (see the type's comment).
    /// </summary>
    internal async ValueTask<RetainedPage> ReadRetainedAsync(int partition, long afterSequence, int maxRecords, int maxBytes)
    {
        ThrowIfClosed();
        var lane = lanes[partition];
        if (log.CommittedUntilAddress < log.TailAddress) await commits.WaitDurableAsync().ConfigureAwait(false);
        if (!TryEnterLog(out var generation)) throw new EngineException(EngineError.Closed, "the store is closed");
        try
        {
            var current = Volatile.Read(ref horizon);
            var upTo = HistoryStartSequence(partition);
            List<(int Epoch, long FirstSequence)> epochs;
            lock (lane.Gate) epochs = [.. lane.Epochs.Where(e => e.FirstSequence <= upTo)];
            var found = new List<(long Sequence, long Address)>();
            if (afterSequence < upTo)
            {
                // Every record of the partition up to its history start that is still here is a carry above the horizon:
                // its originals were reclaimed, or voided by the rebase that took them.
                foreach (var item in log.Scan(Math.Max(log.BeginAddress, current.Address), log.CommittedUntilAddress, Volatile.Read(ref skipRanges)))
                {
                    if (item.Record is not { } record) throw new InvalidDataException($"damaged log record at address {item.Address}");
                    if (record.Partition != partition || !record.IsCarry || record.Op is not (Operation.Put or Operation.Delete)) continue;
                    if (record.PartitionSequence <= afterSequence || record.PartitionSequence > upTo || lane.IsVoid(record.PartitionSequence, item.Address)) continue;
                    found.Add((record.PartitionSequence, item.Address));
                }
            }
            found.Sort();
            var records = new List<byte[]>();
            long bytes = 0, last = afterSequence;
            var buffer = new ArrayBufferWriter<byte>(4096);
            var complete = true;
            foreach (var (sequence, address) in found)
            {
                if (sequence == last) continue; // one version carried twice (a compaction cut short, then another)
                if (records.Count >= maxRecords || bytes >= maxBytes)
                {
                    complete = false;
                    break;
                }
                var record = await log.ReadAsync(address, CancellationToken.None).ConfigureAwait(false);
                buffer.Clear();
                record.WriteFramed(buffer);
                records.Add(buffer.WrittenSpan.ToArray());
                bytes += buffer.WrittenCount;
                last = sequence;
            }
            return new RetainedPage(records, complete ? Math.Max(upTo, afterSequence) : last, upTo, epochs, current.Address);
        }
        finally
        {
            ExitLog(generation);
        }
    }

    /// <summary>A backup about to rebase: voids its whole copy of the partition (even an empty lane: retained versions of an earlier try may be there).</summary>
    internal async ValueTask ResetPartitionAsync(int partition)
    {
        ThrowIfClosed();
        var lane = lanes[partition];
        if (lane.Role is PartitionRole.Primary or PartitionRole.Solo)
            throw new InvalidOperationException($"partition {partition} is led by this node: it is never reset");
        await compactionGate.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (lane.Gate)
            {
                ThrowIfClosed();
                var marker = AppendTruncateMarkerLocked(lane, 0);
                // After 0 the plan reads nothing: every entry of the partition goes.
                var plan = Truncation.PlanAsync(index, partition, 0, long.MaxValue, _ => default).AsTask().GetAwaiter().GetResult();
                Truncation.Apply(index, plan, maintainDerived: true);
                lane.TruncateAfter(0, marker);
            }
        }
        finally
        {
            compactionGate.Release();
        }
        await commits.WaitDurableAsync().ConfigureAwait(false);
    }

    /// <summary>A backup after <see cref="ResetPartitionAsync"/>: takes one of the primary's retained versions (the next in sequence order).</summary>
    internal void ApplyRetained(ReadOnlySpan<byte> framedRecord)
    {
        ThrowIfClosed();
        var record = LogRecord.TryReadFramed(framedRecord.ToArray());
        if (record is null || !record.IsCarry || record.Op is not (Operation.Put or Operation.Delete) || record.Partition < 0 || record.Partition >= lanes.Count)
            throw new EngineException(EngineError.OutOfOrder, "not a retained version");
        var lane = lanes[record.Partition];
        lock (lane.Gate)
        {
            ThrowIfClosed();
            ThrowIfNotBackup(lane);
            AppendRetainedLocked(lane, record);
        }
    }

    /// <summary>A backup, once every retained version is taken: the partition goes on after <paramref name="sequence"/>.</summary>
    internal async ValueTask<long> RebaseAsync(int partition, long sequence, IReadOnlyList<(int Epoch, long FirstSequence)> epochs)
    {
        ThrowIfClosed();
        var lane = lanes[partition];
        lock (lane.Gate)
        {
            ThrowIfClosed();
            ThrowIfNotBackup(lane);
            AppendRebaseLocked(lane, sequence, epochs);
        }
        await AfterAppendAsync(null).ConfigureAwait(false);
        // What the primary reclaimed predates this rebase: a read as of an earlier instant of a key written again since
        // cannot say it was absent then (CompactionHorizon.ReclaimedUntilMs).
        await compactionGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref horizon);
            var raised = new CompactionHorizon(current.Address, current.Versions, current.Redirects,
                Math.Max(current.ReclaimedUntilMs, options.Clock.GetUtcNow().ToUnixTimeMilliseconds()));
            raised.Write(options.DataDirectory);
            Volatile.Write(ref horizon, raised);
        }
        finally
        {
            compactionGate.Release();
        }
        return sequence;
    }

    /// <summary>
    /// The lane held: appends a retained version as a carry of this log, chained to the key's previous one taken here, or
    /// to nothing (1: <see cref="LogRecord.TruncatedPointer"/>) when the primary had older versions it did not retain.
    /// </summary>
    private void AppendRetainedLocked(PartitionLane lane, LogRecord record)
    {
        if (lane.Sequence != 0 || record.PartitionSequence <= lane.BaseApplied)
            throw new EngineException(EngineError.OutOfOrder,
                $"partition {lane.Partition}: a retained version {record.PartitionSequence} where the lane is at {lane.Sequence} after retained {lane.BaseApplied}");
        record.Actor = index.InternActor(record.Actor);
        var current = index.Find(record.Bucket, record.Layer, record.Path, record.Key);
        record.PreviousAddress = current?.LogAddress ?? (record.PreviousAddress != 0 ? LogRecord.TruncatedPointer : 0);
        record.CarriedFrom = LogRecord.TruncatedPointer;
        record.Format = LogRecord.CarryFormat;
        var buffer = new ArrayBufferWriter<byte>(256 + (record.Value?.Length ?? 0));
        record.WriteFramed(buffer);
        var address = log.Append(buffer.WrittenSpan);
        index.Set(record.Bucket, record.Layer, record.Path, record.Key,
            IndexEntry.Create(record.Op == Operation.Put ? record.Value : null, record.Version, record.TimestampMs, record.Actor, address,
                record.Op == Operation.Put ? record.SecondaryKeys : default), maintainDerived: true);
        lane.BaseApplied = record.PartitionSequence;
    }

    /// <summary>The marker that ends a rebase: the partition goes on after <paramref name="sequence"/> in the epochs begun by then.</summary>
    internal static LogRecord RebaseMarker(int partition, long sequence, IReadOnlyList<(int Epoch, long FirstSequence)> epochs, long timestampMs)
    {
        var kept = epochs.Where(e => e.FirstSequence <= sequence).ToList();
        return new LogRecord
        {
            Partition = partition, PartitionSequence = sequence, Epoch = kept.Count > 0 ? kept[^1].Epoch : 0, Format = LogRecord.CurrentFormat,
            TimestampMs = timestampMs, Op = Operation.Rebase, Value = EpochList.Encode(kept),
        };
    }

    private void AppendRebaseLocked(PartitionLane lane, long sequence, IReadOnlyList<(int Epoch, long FirstSequence)> epochs)
    {
        if (sequence <= 0 || lane.Sequence != 0 || lane.BaseApplied > sequence)
            throw new EngineException(EngineError.OutOfOrder,
                $"partition {lane.Partition}: a rebase to {sequence} where the lane is at {lane.Sequence} after retained {lane.BaseApplied}");
        var marker = RebaseMarker(lane.Partition, sequence, epochs, options.Clock.GetUtcNow().ToUnixTimeMilliseconds());
        var buffer = new ArrayBufferWriter<byte>(256);
        marker.WriteFramed(buffer);
        var address = log.Append(buffer.WrittenSpan);
        lane.Rebase(sequence, EpochList.Decode(marker.Value));
        if (visibility != VisibilityGate.Appended) lane.AwaitingCommit.Enqueue((address, lane.Position));
        lane.SinceCheckpoint++;
    }
}

/// <summary>
/// A page of a partition's retained versions (<see cref="Kv4Store.ReadRetainedAsync"/>): framed carries in sequence
/// order; <see cref="Last"/> is where the next page starts after (it equals <see cref="UpTo"/>, the history start, on
/// the last page); <see cref="Epochs"/> are the partition's epochs up to it; <see cref="HorizonAddress"/> tells a
/// reader that cannot hold compaction off whether one ran between its pages.
/// </summary>
public sealed record RetainedPage(IReadOnlyList<byte[]> Records, long Last, long UpTo, IReadOnlyList<(int Epoch, long FirstSequence)> Epochs,
    long HorizonAddress);
