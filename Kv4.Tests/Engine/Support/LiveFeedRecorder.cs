using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Tests.Engine.Support;

/// <summary>
/// Follows a store's change feed in the background, from a cursor (by default: from the moment it is made) while a
/// test keeps writing, so what arrived (replayed, then live) can be compared with what the test expects.
/// </summary>
public sealed class LiveFeedRecorder : IAsyncDisposable
{
    private readonly List<ChangeEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    public LiveFeedRecorder(Kv4Store store, ChangeFilter filter, FeedCursor? after = null)
    {
        Filter = filter;
        var cursor = after?.Clone() ?? store.CurrentCursor();
        After = cursor.ToString();
        _reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in store.ReadChangesAsync(filter, cursor, _stop.Token))
                    lock (_events) _events.Add(change);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        });
    }

    public ChangeFilter Filter { get; }

    /// <summary>Where it started, for messages.</summary>
    public string After { get; }

    /// <summary>Waits (generously; this bounds a broken feed, it measures nothing) until at least <paramref name="count"/> events arrived, then returns all so far.</summary>
    public async Task<List<ChangeEvent>> WaitForAsync(int count)
    {
        var deadline = DateTime.UtcNow + FeedReader.Patience;
        while (true)
        {
            lock (_events)
                if (_events.Count >= count) return [.. _events];
            if (_reading.IsCompleted)
            {
                await _reading; // surfaces the reader's exception, if any
                lock (_events) Assert.Fail($"the feed ({Filter}, after {After}) ended after {_events.Count} of {count} events");
            }
            if (DateTime.UtcNow > deadline)
                lock (_events) Assert.Fail($"the feed ({Filter}, after {After}) delivered {_events.Count} of {count} events within {FeedReader.Patience.TotalSeconds} s");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _reading; }
        catch (Exception) { /* a reader that failed has already failed the comparison */ }
        _stop.Dispose();
    }
}
