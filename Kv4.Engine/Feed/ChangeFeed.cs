using System.Runtime.CompilerServices;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Engine.Feed;

/// <summary>
/// The change feed: every mutation, in sequence order, to any number of filtered readers.
///
/// A reader that starts after sequence s:
/// <code>
///   1. register a live subscription under the writer lock; R = last sequence at that instant
///      (every later mutation is offered to the subscription, none before it)
///   2. replay (s, R] from the log: commit, then scan from the sparse <see cref="SequenceIndex"/>
///   3. drain the subscription, skipping sequences already delivered
/// </code>
/// so there is no gap (everything ≤ R comes from the log, everything &gt; R from the subscription) and no
/// duplicate. A reader that falls more than <see cref="SubscriptionCapacity"/> events behind has its
/// subscription closed by the writer; it then simply starts again at step 1 from the last sequence it
/// delivered, i.e. it catches up from the log, and the caller sees one continuous stream.
/// Live events are offered when a record is appended, before its commit: a reader can see a change a
/// sync writer has not had acknowledged yet (and a crash could then lose it).
/// </summary>
/// <param name="readBatch">(after, until, max): up to max records with after &lt; sequence ≤ until from the log; null once the store is closed.</param>
internal sealed class ChangeFeed(Lock writerLock, Func<long> lastSequence, Func<Task> makeDurable,
    Func<long, long, int, List<LogRecord>?> readBatch)
{
    public const int SubscriptionCapacity = 8192;
    // Replay reads the log in batches, so a slow consumer never holds the log open (dispose waits for readers of the log).
    private const int ReplayBatch = (int)SequenceIndex.Stride;

    private FeedSubscription[] subscriptions = [];
    private bool closed;
    private long overflows;

    /// <summary>How many times a subscription was closed because its reader fell behind.</summary>
    public long Overflows => Interlocked.Read(ref overflows);

    /// <summary>Writer only: offers a mutation to every matching subscription.</summary>
    public void Publish(LogRecord record, byte[]? value)
    {
        var current = subscriptions;
        if (current.Length == 0) return;
        ChangeEvent? change = null;
        foreach (var subscription in current)
        {
            if (!subscription.Matches(record.Bucket, record.Layer, record.Path, record.Op)) continue;
            change ??= ToEvent(record, value);
            if (subscription.Offer(change)) continue;
            Interlocked.Increment(ref overflows);
            Remove(subscription);
        }
    }

    /// <summary>Writer only, when the store closes: every reader's stream ends.</summary>
    public void CloseAll()
    {
        closed = true;
        foreach (var subscription in subscriptions) subscription.Close();
        subscriptions = [];
    }

    public async IAsyncEnumerable<ChangeEvent> ReadAsync(ChangeFilter filter, long? afterSequence,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long? delivered = afterSequence is { } after ? Math.Max(0, after) : null;
        while (!cancellationToken.IsCancellationRequested)
        {
            FeedSubscription? subscription;
            lock (writerLock)
            {
                if (closed) yield break;
                subscription = new FeedSubscription(filter, lastSequence(), SubscriptionCapacity);
                subscriptions = [.. subscriptions, subscription];
            }
            try
            {
                var registeredAt = subscription.RegisteredAtSequence;
                delivered ??= registeredAt;
                if (delivered < registeredAt)
                {
                    await makeDurable().ConfigureAwait(false);
                    while (delivered < registeredAt)
                    {
                        var batch = readBatch(delivered.Value, registeredAt, ReplayBatch);
                        if (batch is null) yield break; // the store closed
                        // Empty: the rest of the range was in a damaged log region dropped at recovery.
                        if (batch.Count == 0) break;
                        foreach (var record in batch)
                        {
                            if (cancellationToken.IsCancellationRequested) yield break;
                            delivered = record.Sequence;
                            if (subscription.Matches(record.Bucket, record.Layer, record.Path, record.Op))
                                yield return ToEvent(record, record.Value);
                        }
                    }
                    delivered = registeredAt;
                }
                var reader = subscription.Reader;
                while (true)
                {
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
                    while (reader.TryRead(out var change))
                    {
                        if (change.Sequence <= delivered) continue;
                        delivered = change.Sequence;
                        yield return change;
                    }
                }
                if (!subscription.Overflowed) yield break; // the store closed
            }
            finally
            {
                lock (writerLock) Remove(subscription);
            }
        }
    }

    private void Remove(FeedSubscription subscription)
    {
        var index = Array.IndexOf(subscriptions, subscription);
        if (index < 0) return;
        subscriptions = [.. subscriptions.AsSpan(0, index), .. subscriptions.AsSpan(index + 1)];
    }

    private static ChangeEvent ToEvent(LogRecord record, byte[]? value) => new(
        record.Sequence, record.Partition, record.PartitionSequence, record.Bucket, record.Layer, record.Path, record.Key,
        record.Op, value is null ? null : (ReadOnlyMemory<byte>?)value, new VersionId(record.Sequence), record.TimestampMs, record.Actor);
}
