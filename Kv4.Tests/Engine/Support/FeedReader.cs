using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Tests.Engine.Support;

/// <summary>Reads a known number of events from the change feed, failing clearly instead of hanging if they never come.</summary>
public static class FeedReader
{
    /// <summary>Generous: the machine may be loaded; the wait only bounds a broken feed, it asserts no speed.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<List<ChangeEvent>> ReadAsync(Kv4Store store, ChangeFilter filter, long afterSequence, int count)
    {
        var events = new List<ChangeEvent>(count);
        if (count == 0) return events;
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await foreach (var change in store.ReadChangesAsync(filter, afterSequence, timeout.Token).WithCancellation(timeout.Token))
            {
                events.Add(change);
                if (events.Count == count) break;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
        }
        if (events.Count != count)
            Assert.Fail($"the change feed ({filter}, after {afterSequence}) delivered {events.Count} of {count} expected events within {Patience.TotalSeconds} s");
        return events;
    }
}
