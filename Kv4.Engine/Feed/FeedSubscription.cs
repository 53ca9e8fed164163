using System.Threading.Channels;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;

namespace Kv4.Engine.Feed;

/// <summary>
/// One live reader's mailbox: a bounded channel the writer fills without ever waiting. When it is full
/// the subscription is marked <see cref="Overflowed"/> and closed; its reader then goes back to the log
/// for what it missed (see <see cref="ChangeFeed"/>), so a slow reader costs the writer nothing.
/// </summary>
internal sealed class FeedSubscription(ChangeFilter filter, int capacity)
{
    // Every lane writes into it, each in its own order.
    private readonly Channel<ChangeEvent> channel = Channel.CreateBounded<ChangeEvent>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });
    private volatile bool overflowed;

    public ChangeFilter Filter { get; } = filter;

    public bool Overflowed => overflowed;

    public ChannelReader<ChangeEvent> Reader => channel.Reader;

    public bool Matches(int partition, string bucket, string layer, string path, Operation op) =>
        bucket == Filter.Bucket
        && (Filter.Partitions is null || Filter.Partitions.Contains(partition))
        && (op is Operation.DropBucket or Operation.DropBucketPart
            || (op is not Operation.Truncate && (Filter.Layer is null || Filter.Layer == layer) && AddressRules.IsUnder(path, Filter.PathPrefix)));

    /// <summary>Lanes only. Returns false when the subscription overflowed just now (the caller removes it).</summary>
    public bool Offer(ChangeEvent change)
    {
        if (channel.Writer.TryWrite(change)) return true;
        overflowed = true;
        channel.Writer.TryComplete();
        return false;
    }

    public void Close() => channel.Writer.TryComplete();
}
