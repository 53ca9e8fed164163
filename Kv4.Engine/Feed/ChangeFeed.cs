using System.Runtime.CompilerServices;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Engine.Feed;

/// <summary>
/// The change feed: every mutation of every partition, to any number of filtered readers, each reading after a
/// <see cref="FeedCursor"/> (one position per partition) that the feed advances as it goes.
///
/// A reader at cursor C:
/// <code>
///   1. holding every lane, register a live subscription; R = every lane's position, T = the log's tail
///      (every later mutation is offered to the subscription, none at or before R)
///   2. replay from the log: make it durable, scan from the earliest sparse-index point any partition behind R
///      needs, up to T; a record of partition p is delivered when C[p] &lt; version ≤ R[p]; then C = max(C, R)
///   3. drain the subscription: an event is delivered when its version is past C[its partition]
/// </code>
/// so there is no gap (all ≤ R comes from the log, all &gt; R from the subscription) and no duplicate (C only
/// grows). Worked example, two partitions: C = [0, 0]; the log holds p0 v1, p1 v1, p0 v2; a writer appends p1 v2
/// while the reader starts: R = [2, 1], replay delivers p0 v1, p1 v1, p0 v2 (C = [2, 1]), the subscription then
/// delivers p1 v2 (C = [2, 2]). A reader that falls more than <see cref="SubscriptionCapacity"/> events behind
/// has its subscription closed by a writer; it starts again at step 1 from its cursor, so it catches up from the
/// log and the caller sees one continuous stream.
///
/// The subscription only carries the events that match, so while it is drained the cursor would stay behind for
/// partitions whose writes the reader does not want, and a later resume would rescan them. Each time the mailbox
/// runs dry the reader therefore takes every lane's position first (a lane publishes before it moves its position,
/// so every matching event up to it is in the mailbox by then, unless the mailbox overflowed), drains, and moves the
/// cursor up to those positions.
///
/// With durable reads an event is handed out only once its lane shows it (committed; in a replicated store,
/// acknowledged); otherwise live events come at append,
/// before the commit, and a crash may lose one a reader saw: that is why an open after an unclean stop starts a
/// new epoch (see <see cref="VersionId"/>), so a cursor that passed a lost version never hides the version that
/// takes its sequence.
/// </summary>
/// <param name="readBatch">(from, until, max): up to max records from log address from (below until) and the address after them; null once the store is closed.</param>
/// <param name="waitVisible">With durable reads: completes once the lane of the partition shows the version; null otherwise.</param>
/// <param name="resumePoint">
/// Compaction: null when nothing after the cursor was reclaimed, else the cursor a reader can resume from. Asked before
/// every replay; a replay whose next batch starts below the log's head (truncated meanwhile) starts again, and asks again.
/// </param>
internal sealed class ChangeFeed(LaneSet lanes, Func<long> tailAddress, Func<Task> makeDurable, Func<int, long, CancellationToken, Task>? waitVisible,
    Func<FeedCursor, long[], long> replayStart, Func<long, long, int, ReplayBatch?> readBatch, Func<FeedCursor, FeedCursor?> resumePoint)
{
    public const int SubscriptionCapacity = 8192;
    // Replay reads the log in batches, so a slow consumer never holds the log open (dispose waits for readers of the log).
    private const int ReplayBatchSize = 1024;

    private readonly Lock gate = new();
    private FeedSubscription[] subscriptions = [];
    private bool closed;
    private long overflows;

    /// <summary>How many times a subscription was closed because its reader fell behind.</summary>
    public long Overflows => Interlocked.Read(ref overflows);

    /// <summary>The record's lane only: offers a mutation to every matching subscription.</summary>
    public void Publish(LogRecord record, byte[]? value, long address)
    {
        var current = Volatile.Read(ref subscriptions);
        if (current.Length == 0) return;
        ChangeEvent? change = null;
        foreach (var subscription in current)
        {
            if (!subscription.Matches(record.Partition, record.Bucket, record.Layer, record.Path, record.Op)) continue;
            change ??= ToEvent(record, value, address);
            if (subscription.Offer(change)) continue;
            Interlocked.Increment(ref overflows);
            lock (gate) Remove(subscription);
        }
    }

    /// <summary>Every lane held, when the store closes: every reader's stream ends.</summary>
    public void CloseAll()
    {
        lock (gate)
        {
            closed = true;
            foreach (var subscription in subscriptions) subscription.Close();
            subscriptions = [];
        }
    }

    public async IAsyncEnumerable<ChangeEvent> ReadAsync(ChangeFilter filter, FeedCursor cursor,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            FeedSubscription subscription;
            long[] cut;
            long cutTail;
            using (lanes.EnterAll())
            {
                lock (gate)
                {
                    if (closed) yield break;
                    cut = lanes.Positions();
                    cutTail = tailAddress();
                    subscription = new FeedSubscription(filter, SubscriptionCapacity);
                    subscriptions = [.. subscriptions, subscription];
                }
            }
            try
            {
                var restart = false;
                if (Behind(cursor, cut))
                {
                    await makeDurable().ConfigureAwait(false);
                    var from = replayStart(cursor, cut);
                    // After the start is chosen: it skips what lies below the horizon, so the check must see that horizon or a later one.
                    if (resumePoint(cursor) is { } resume) throw new Rules.FeedTruncatedException(resume);
                    while (from < cutTail)
                    {
                        if (readBatch(from, cutTail, ReplayBatchSize) is not { } batch) yield break; // the store closed
                        if (batch.Truncated)
                        {
                            restart = true;
                            break;
                        }
                        // Nothing read: the rest of the range was in a damaged log region dropped at recovery.
                        if (batch.Records.Count == 0) break;
                        foreach (var (record, address) in batch.Records)
                        {
                            if (cancellationToken.IsCancellationRequested) yield break;
                            // A carry is a copy of a version already in the feed's past (compaction), never an event.
                            if (record.IsCarry) continue;
                            var version = record.Version;
                            if (!cursor.IsAfter(record.Partition, version) || version > cut[record.Partition]) continue;
                            if (record.Op is Operation.Truncate or Operation.Rebase || lanes[record.Partition].IsVoid(record.PartitionSequence, address)) continue;
                            if (!subscription.Matches(record.Partition, record.Bucket, record.Layer, record.Path, record.Op))
                            {
                                cursor.Set(record.Partition, version);
                                continue;
                            }
                            if (!await ShownAsync(record.Partition, version, cancellationToken).ConfigureAwait(false)) yield break;
                            cursor.Set(record.Partition, version);
                            yield return ToEvent(record, record.Op == Operation.Put ? record.Value : null, address);
                        }
                        from = batch.NextAddress;
                    }
                }
                if (restart) continue;
                MoveUpTo(cursor, cut);
                var reader = subscription.Reader;
                while (true)
                {
                    var reached = lanes.Positions();
                    while (reader.TryRead(out var change))
                    {
                        if (!cursor.IsAfter(change.Partition, change.Version.Value)) continue;
                        if (!await ShownAsync(change.Partition, change.Version.Value, cancellationToken).ConfigureAwait(false)) yield break;
                        cursor.Set(change.Partition, change.Version.Value);
                        yield return change;
                    }
                    // Not after an overflow: the events the mailbox had no room for are at or below those positions.
                    if (!subscription.Overflowed) MoveUpTo(cursor, reached);
                    bool more;
                    try
                    {
                        more = await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        yield break;
                    }
                    if (!more) break;
                }
                if (!subscription.Overflowed) yield break; // the store closed
            }
            finally
            {
                lock (gate) Remove(subscription);
            }
        }
    }

    /// <summary>Waits until the version may be handed out; false when the reader was cancelled meanwhile.</summary>
    private async ValueTask<bool> ShownAsync(int partition, long version, CancellationToken cancellationToken)
    {
        if (waitVisible is null) return true;
        try
        {
            await waitVisible(partition, version, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static bool Behind(FeedCursor cursor, long[] cut)
    {
        for (var p = 0; p < cut.Length; p++)
            if (cursor[p] < cut[p]) return true;
        return false;
    }

    private static void MoveUpTo(FeedCursor cursor, long[] positions)
    {
        for (var p = 0; p < positions.Length; p++)
            if (cursor.IsAfter(p, positions[p])) cursor.Set(p, positions[p]);
    }

    private void Remove(FeedSubscription subscription)
    {
        var index = Array.IndexOf(subscriptions, subscription);
        if (index < 0) return;
        Volatile.Write(ref subscriptions, [.. subscriptions.AsSpan(0, index), .. subscriptions.AsSpan(index + 1)]);
    }

    private static ChangeEvent ToEvent(LogRecord record, byte[]? value, long address) => new(
        record.Partition, record.PartitionSequence, record.Bucket, record.Layer, record.Path, record.Key,
        record.Op, value is null ? null : (ReadOnlyMemory<byte>?)value, new VersionId(record.Version), record.TimestampMs, record.Actor)
    {
        LogAddress = address,
    };
}

/// <summary>
/// Records read from the log in address order, and the address after the last one; <see cref="Truncated"/>: none, because
/// the address asked for is below the log's head now (compaction truncated it meanwhile).
/// </summary>
internal sealed record ReplayBatch(List<(LogRecord Record, long Address)> Records, long NextAddress, bool Truncated = false);
