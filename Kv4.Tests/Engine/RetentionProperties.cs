using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Kv4.Engine.Retention;

namespace Kv4.Tests.Engine;

/// <summary>
/// <see cref="RetainedVersions.Count"/>, the rule of which versions of a key are retained, against what issue 15 asks
/// of it, on random chains (newest first, timestamps never increasing, never two deletes in a row) and random rules:
/// everything within the last N or newer than the horizon is kept; nothing beyond that; the latest of a live key always;
/// a tombstone only with an older version or within the window; reads as of any instant the retained versions still
/// cover answer as before; retaining again drops nothing more; a later now never keeps more.
/// </summary>
[Trait("Category", "Property")]
public class RetentionProperties
{
    private const long NowMs = 1_000_000;

    public sealed record Case(VersionStamp[] Chain, RetentionRule Rule, long Later);

    private static Gen<VersionStamp[]> Chains() =>
        from length in Gen.Choose(0, 8)
        from gaps in Gen.ArrayOf(Gen.Elements(0L, 0L, 1_000L, 5_000L, 20_000L), length)
        from deletes in Gen.ArrayOf(Gen.Elements(false, false, true), length)
        select Build(gaps, deletes);

    private static VersionStamp[] Build(long[] gaps, bool[] deletes)
    {
        var chain = new VersionStamp[gaps.Length];
        var at = NowMs - gaps.Length * 7; // a newest version a little before now
        for (var i = 0; i < chain.Length; i++)
        {
            at -= gaps[i];
            // Never two deletes in a row: a delete of a deleted key appends nothing.
            var tombstone = deletes[i] && (i == 0 || !chain[i - 1].IsTombstone);
            chain[i] = new VersionStamp(at, tombstone);
        }
        return chain;
    }

    private static Gen<RetentionRule> Rules() =>
        from n in Gen.Elements<int?>(null, 1, 2, 3, 5)
        from age in Gen.Elements<long?>(null, 1, 4, 10, 30, 100)
        select new RetentionRule(n, age);

    private static Arbitrary<Case> Cases() =>
        (from chain in Chains() from rule in Rules() from later in Gen.Elements(0L, 1_000L, 10_000L, 100_000L) select new Case(chain, rule, later))
        .ToArbitrary();

    /// <summary>The state of the chain at t: the newest version at or before t; null absent, else whether it is live.</summary>
    private static bool? StateAt(IReadOnlyList<VersionStamp> newestFirst, long t)
    {
        foreach (var version in newestFirst)
            if (version.TimestampMs <= t) return !version.IsTombstone;
        return null;
    }

    private static (int ByCount, int ByAge) Within(VersionStamp[] chain, RetentionRule rule, long nowMs)
    {
        var byCount = rule.MaxVersions is { } n ? Math.Min(n, chain.Length) : 0;
        var byAge = rule.MaxAgeSeconds is { } s ? chain.Count(v => v.TimestampMs > nowMs - s * 1000) : 0;
        return (byCount, byAge);
    }

    [Property(MaxTest = 2000)]
    public Property Everything_within_the_rule_is_kept_and_nothing_more() => Prop.ForAll(Cases(), c =>
    {
        var kept = RetainedVersions.Count(c.Chain, c.Rule, NowMs);
        if (c.Rule.KeepsEverything) return kept == c.Chain.Length;
        var (byCount, byAge) = Within(c.Chain, c.Rule, NowMs);
        var demanded = Math.Max(byCount, byAge);
        if (c.Chain.Length == 0) return kept == 0;
        if (!c.Chain[0].IsTombstone) return kept == Math.Max(demanded, 1);
        // A deleted key: all it demands, or nothing when that would be tombstones alone, outside the window.
        var onlyTombstones = c.Chain.Take(demanded).All(v => v.IsTombstone);
        return kept == (byAge == 0 && onlyTombstones ? 0 : demanded);
    });

    [Property(MaxTest = 2000)]
    public Property The_latest_of_a_live_key_is_always_kept() => Prop.ForAll(Cases(), c =>
        c.Chain.Length == 0 || c.Chain[0].IsTombstone || RetainedVersions.Count(c.Chain, c.Rule, NowMs + c.Later) >= 1);

    [Property(MaxTest = 2000)]
    public Property A_tombstone_is_kept_only_with_an_older_version_or_within_the_window() => Prop.ForAll(Cases(), c =>
    {
        var now = NowMs + c.Later;
        var kept = RetainedVersions.Count(c.Chain, c.Rule, now);
        // Keeping everything keeps a lone tombstone too: the rule only bounds what a retention rule may keep.
        if (kept == 0 || !c.Chain[0].IsTombstone || c.Rule.KeepsEverything) return true;
        return kept >= 2 || (c.Rule.MaxAgeSeconds is { } s && c.Chain[0].TimestampMs > now - s * 1000);
    });

    [Property(MaxTest = 2000)]
    public Property Reads_as_of_any_instant_the_retained_versions_cover_answer_as_before() => Prop.ForAll(Cases(), c =>
    {
        var kept = RetainedVersions.Count(c.Chain, c.Rule, NowMs + c.Later);
        var retained = c.Chain.Take(kept).ToArray();
        if (kept == 0)
            // Nothing kept: the key is deleted now, so a read now answers the same (absent).
            return c.Chain.Length == 0 || c.Chain[0].IsTombstone;
        var oldest = retained[^1].TimestampMs;
        for (var t = oldest; t <= NowMs + c.Later; t += 500)
            if (StateAt(retained, t) != StateAt(c.Chain, t)) return false;
        return StateAt(retained, oldest) == StateAt(c.Chain, oldest);
    });

    [Property(MaxTest = 2000)]
    public Property Retaining_again_drops_nothing_more_and_later_never_keeps_more() => Prop.ForAll(Cases(), c =>
    {
        var kept = RetainedVersions.Count(c.Chain, c.Rule, NowMs);
        var again = RetainedVersions.Count(c.Chain.Take(kept).ToArray(), c.Rule, NowMs);
        var later = RetainedVersions.Count(c.Chain, c.Rule, NowMs + c.Later);
        return again == kept && later <= kept;
    });

    [Fact]
    public void The_worked_example_of_the_rule()
    {
        const long s = 1000;
        VersionStamp[] chain = [new(9_990 * s, false), new(9_000 * s, false), new(8_000 * s, true), new(5_000 * s, false)];
        const long now = 10_000 * s;
        Assert.Equal(2, RetainedVersions.Count(chain, new RetentionRule(2, null), now));
        Assert.Equal(1, RetainedVersions.Count(chain, new RetentionRule(null, 100), now));
        Assert.Equal(2, RetainedVersions.Count(chain, new RetentionRule(1, 2_000), now));
        Assert.Equal(3, RetainedVersions.Count(chain, new RetentionRule(3, null), now));
        Assert.Equal(4, RetainedVersions.Count(chain, RetentionRule.KeepEverything, now));

        VersionStamp[] deleted = [new(9_000 * s, true), new(5_000 * s, false)];
        Assert.Equal(0, RetainedVersions.Count(deleted, new RetentionRule(1, null), now));
        Assert.Equal(2, RetainedVersions.Count(deleted, new RetentionRule(2, null), now));
        Assert.Equal(1, RetainedVersions.Count(deleted, new RetentionRule(null, 2_000), now));
    }
}
