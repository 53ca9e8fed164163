using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Tests.Engine.Support;

/// <summary>Reads a known number of events from the change feed, failing clearly instead of hanging if they never come.</summary>
public static class FeedReader
{
    /// <summary>Generous: the machine may be loaded; the wait only bounds a broken feed, it asserts no speed.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>From the beginning of the feed.</summary>
    public static Task<List<ChangeEvent>> ReadAsync(Kv4Store store, ChangeFilter filter, int count) =>
        ReadAsync(store, filter, FeedCursor.Beginning(), count);

    /// <summary>After <paramref name="after"/>, which is left as it was (the read advances a copy).</summary>
    public static async Task<List<ChangeEvent>> ReadAsync(Kv4Store store, ChangeFilter filter, FeedCursor after, int count)
    {
        var events = new List<ChangeEvent>(count);
        if (count == 0) return events;
        var from = after.ToString();
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await foreach (var change in store.ReadChangesAsync(filter, after.Clone(), timeout.Token).WithCancellation(timeout.Token))
            {
                events.Add(change);
                if (events.Count == count) break;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
        }
        if (events.Count != count)
            Assert.Fail($"the change feed ({filter}, after {from}) delivered {events.Count} of {count} expected events within {Patience.TotalSeconds} s");
        return events;
    }
}
