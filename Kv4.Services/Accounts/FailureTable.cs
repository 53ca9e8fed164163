using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kv4.Services.Accounts;

/// <summary>
/// The failure counts of one kind of key (logins or client addresses) for <see cref="LoginThrottle"/>, which
/// serializes every call. Times are clock ticks. With 5 allowed, a 15 min window, a first wait of 1 s and a 60 s cap:
/// <code>
///   failure 1..4 at t      entry (failures 4, last t, waitUntil -)      attempts go on
///   failure 5 at t         entry (5, t, t+1s)                           attempts before t+1s wait
///   failure 6 at t+1s      entry (6, t+1s, t+3s)                        the wait doubles: 1 2 4 8 .. 60 s
///   t+3s+15min             forgotten: the next failure is the first again
/// </code>
/// At <c>capacity</c> entries, adding one first frees a quarter of the table: forgotten entries, then entries still
/// within their allowance (a spray of random names leaves one failure on each), then any. So the entries that hold a
/// wait are the last to go, and the table never grows past its capacity.
/// </summary>
internal sealed class FailureTable<TKey>(int allowed, TimeSpan window, TimeSpan delay, TimeSpan maxDelay, int capacity) where TKey : notnull
{
    private const int MaxDoublings = 30;
    private readonly Dictionary<TKey, Entry> _entries = new();

    public int Count => _entries.Count;

    /// <summary>How long <paramref name="key"/> must still wait (zero: it may try now).</summary>
    public TimeSpan WaitFor(TKey key, long now) =>
        allowed > 0 && _entries.TryGetValue(key, out var entry) && now < entry.WaitUntil ? TimeSpan.FromTicks(entry.WaitUntil - now) : TimeSpan.Zero;

    /// <summary>
    /// An admitted attempt of a key past its allowance takes the wait its failure would start, so attempts that
    /// arrive while it is being checked wait too: past the allowance, one attempt per wait is checked.
    /// </summary>
    public void Hold(TKey key, long now)
    {
        if (allowed == 0) return;
        ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, key);
        if (Unsafe.IsNullRef(ref entry) || IsForgotten(entry, now) || entry.Failures < allowed) return;
        entry.WaitUntil = now + Delay(entry.Failures + 1);
    }

    public void Fail(TKey key, long now)
    {
        if (allowed == 0) return;
        if (_entries.Count >= capacity && !_entries.ContainsKey(key)) MakeRoom(now);
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, key, out _);
        if (IsForgotten(entry, now)) entry = default;
        entry.Failures = Math.Min(entry.Failures + 1, allowed + MaxDoublings);
        entry.LastFailure = now;
        if (entry.Failures >= allowed) entry.WaitUntil = now + Delay(entry.Failures);
    }

    public void Clear(TKey key) => _entries.Remove(key);

    private long Delay(int failures)
    {
        var ticks = delay.Ticks;
        for (var doublings = failures - allowed; doublings > 0 && ticks < maxDelay.Ticks; doublings--) ticks *= 2;
        return Math.Min(ticks, maxDelay.Ticks);
    }

    private bool IsForgotten(in Entry entry, long now) => now - entry.LastFailure >= window.Ticks && now >= entry.WaitUntil;

    private void MakeRoom(long now)
    {
        var target = capacity - capacity / 4;
        foreach (var (key, entry) in _entries)
            if (IsForgotten(entry, now)) _entries.Remove(key);
        if (_entries.Count > target)
            foreach (var (key, entry) in _entries)
                if (entry.Failures < allowed && _entries.Remove(key) && _entries.Count <= target) break;
        if (_entries.Count > target)
            foreach (var (key, _) in _entries)
                if (_entries.Remove(key) && _entries.Count <= target) break;
    }

    private struct Entry
    {
        public int Failures;
        public long LastFailure;
        public long WaitUntil;
    }
}
