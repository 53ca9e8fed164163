using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Cluster.Routing;

/// <summary>
/// A feed another node reads from this one, for the partitions this node leads: the engine's change feed after the
/// reader's cursor, pulled a batch at a time (<see cref="FeedNext"/>), so a reader that stops pulling stops it and a
/// slow one never holds up the bus. A pull that finds the partitions led elsewhere ends the session; the reader
/// opens one on the new primary from its cursor.
/// </summary>
internal sealed class FeedSession : IDisposable
{
    private readonly ChangeFilter _filter;
    private readonly Action _ended;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IAsyncEnumerator<ChangeEvent> _events;
    private readonly SemaphoreSlim _pulling = new(1, 1);
    private Task<bool>? _pending;
    private long _lastPullMs = Environment.TickCount64;

    public FeedSession(Kv4Store store, ChangeFilter filter, FeedCursor cursor, Action ended)
    {
        _filter = filter;
        _ended = ended;
        _events = store.ReadChangesAsync(filter, cursor, _stopping.Token).GetAsyncEnumerator(_stopping.Token);
    }

    public TimeSpan IdleFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastPullMs));

    public async Task<FeedEvents> NextAsync(int max, TimeSpan wait, Func<int, bool> leads, CancellationToken cancellationToken)
    {
        await _pulling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Exchange(ref _lastPullMs, Environment.TickCount64);
            var items = new List<FeedItem>();
            var ended = false;
            while (items.Count < max)
            {
                var move = _pending ?? _events.MoveNextAsync().AsTask();
                if (!move.IsCompleted)
                {
                    if (items.Count > 0)
                    {
                        _pending = move;
                        break;
                    }
                    if (await Task.WhenAny(move, Task.Delay(wait, cancellationToken)).ConfigureAwait(false) != move)
                    {
                        _pending = move;
                        break;
                    }
                }
                _pending = null;
                bool more;
                try
                {
                    more = await move.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    more = false;
                }
                if (!more)
                {
                    ended = true;
                    break;
                }
                var change = _events.Current;
                items.Add(new FeedItem
                {
                    Partition = change.Partition, Sequence = change.PartitionSequence, Bucket = change.Bucket, Layer = change.Layer, Path = change.Path,
                    Key = change.Key, Op = (byte)change.Op, Value = change.Value?.ToArray(), Version = change.Version.Value,
                    TimestampMs = change.TimestampMs, Actor = change.Actor,
                });
            }
            if (_filter.Partitions is { } partitions && !partitions.Members().All(leads)) ended = true;
            if (ended) Dispose();
            return new FeedEvents { Events = [.. items], Ended = ended };
        }
        finally
        {
            _pulling.Release();
        }
    }

    public void Dispose()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _ended();
        _ = _events.DisposeAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
