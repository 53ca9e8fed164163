namespace Kv4.Engine.Retention;

/// <summary>
/// The one rule of which versions of a key's chain are retained. Retention keeps a prefix of the chain (newest first),
/// never a version without the newer ones, so a chain stays a chain and a read as of any instant after the oldest
/// retained version still answers what it answered before. The prefix is as long as the longer of
/// <list type="bullet">
/// <item>the last <c>MaxVersions</c> versions, and</item>
/// <item>the versions from the newest back to the first one at or before the horizon (now − <c>MaxAgeSeconds</c>),</item>
/// </list>
/// then: the latest version of a live key is always kept; a tombstone is kept while an older version of its key is
/// kept, or while it is itself within the age window; a chain whose kept versions would all be tombstones outside the
/// window keeps nothing (a key deleted long ago leaves no trace, as if never written).
/// Worked example, now = 10 000 s, chain newest first: put@9 990 s, put@9 000 s, delete@8 000 s, put@5 000 s.
/// <code>
///   MaxVersions=2                      → 2: the two newest puts
///   MaxAgeSeconds=100                  → 1: only put@9 990 is newer than 9 900
///   MaxVersions=1, MaxAgeSeconds=2 000 → 2: put@9 000 is newer than 8 000; delete@8 000 is not (at the horizon)
///   MaxVersions=3                      → 3: the delete is kept with both newer puts
///   neither                            → 4
/// </code>
/// A deleted key: delete@9 000 s, put@5 000 s. MaxVersions=1 → 0 (only the tombstone would be left, outside any
/// window); MaxVersions=2 → 2; MaxAgeSeconds=2 000 → 1 (the tombstone is within the window; the put before it goes).
/// </summary>
public static class RetainedVersions
{
    /// <summary>How many of the newest versions of <paramref name="newestFirst"/> are retained at <paramref name="nowMs"/>.</summary>
    public static int Count(IReadOnlyList<VersionStamp> newestFirst, RetentionRule rule, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(newestFirst);
        var length = newestFirst.Count;
        if (rule.KeepsEverything || length == 0) return length;
        var byCount = rule.MaxVersions is { } max ? Math.Min(max, length) : 0;
        var byAge = 0;
        if (rule.MaxAgeSeconds is { } seconds)
        {
            var horizonMs = nowMs - seconds * 1000;
            while (byAge < length && newestFirst[byAge].TimestampMs > horizonMs) byAge++;
        }
        var kept = Math.Max(byCount, byAge);
        if (!newestFirst[0].IsTombstone) return Math.Max(kept, 1);
        // Kept only by the count, and nothing but tombstones: nothing left worth keeping.
        if (byAge == 0)
        {
            var anyPut = false;
            for (var i = 0; i < kept && !anyPut; i++) anyPut = !newestFirst[i].IsTombstone;
            if (!anyPut) return 0;
        }
        return kept;
    }
}
