using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Kv4.Services.Api;
using Kv4.Services.Common;

namespace Kv4.Tests.Platform;

/// <summary>
/// Random recordings spread over minute, hour, day, month and year boundaries (around 2016-12-31 23:58 UTC, with
/// flushes at random points between them), aggregated by `_stats?break=1` and by a naive sum over the raw values:
/// per group, sum, min, max and count agree, at every group depth from year to minute, with and without a range.
/// </summary>
[Trait("Category", "Property")]
public class StatsAggregationProperties
{
    private static readonly DateTimeOffset Origin = new(2016, 12, 31, 23, 58, 0, TimeSpan.Zero);

    /// <summary>One recording: seconds after <see cref="Origin"/> (up to ~4 minutes, crossing the year), value, key, flush after it.</summary>
    public sealed record Recording(int OffsetSeconds, int Value, string Key, bool FlushAfter);

    private static Arbitrary<Recording[]> Recordings() =>
        (from count in Gen.Choose(1, 40)
         from items in Gen.ArrayOf(
             from offset in Gen.Choose(0, 240)
             from value in Gen.Choose(-1000, 1000)
             from key in Gen.Elements("elena", "lily", "bob")
             from flush in Gen.Elements(false, false, true)
             select new Recording(offset, value, key, flush), count)
         select items.OrderBy(r => r.OffsetSeconds).ToArray())
        .ToArbitrary();

    [Property(MaxTest = 60)]
    public Property Service_groups_agree_with_a_naive_sum() =>
        Prop.ForAll(Recordings(), Gen.Choose(1, 5).ToArbitrary(), Gen.Elements<string?>(null, "lily").ToArbitrary(),
            (recordings, depth, keyFilter) => Check(recordings, depth, keyFilter).GetAwaiter().GetResult());

    private static async Task<bool> Check(Recording[] recordings, int depth, string? keyFilter)
    {
        await using var stats = new StatsFixture(Origin);
        foreach (var r in recordings)
        {
            stats.Clock.Set(Origin.AddSeconds(r.OffsetSeconds));
            var reply = await stats.Call(ApiMethod.Post, "net/edge", $"{{\"v\":{r.Value}}}", query: [("l", "router:pkt"), ("k", r.Key)]);
            Assert.True(reply.IsOk);
            if (r.FlushAfter) await stats.Recorder.FlushAsync();
        }
        await stats.Recorder.FlushAsync();

        // gs at the chosen depth, from the origin's group; no ge: everything from there on.
        var gs = TimeGroup.Format(Origin.ToUnixTimeMilliseconds(), depth);
        var query = new List<(string, string)> { ("l", "router:pkt"), ("gs", gs), ("break", "1") };
        if (keyFilter is not null) query.Add(("k", keyFilter));
        var actual = ApiCalls.Value(await stats.Call(ApiMethod.Get, "net/edge", query: query.ToArray()));

        var expected = recordings
            .Where(r => keyFilter is null || r.Key == keyFilter)
            .GroupBy(r => TimeGroup.Format(Origin.AddSeconds(r.OffsetSeconds).ToUnixTimeMilliseconds(), depth))
            .ToDictionary(g => g.Key, g => (Sum: g.Sum(r => (double)r.Value), Min: g.Min(r => r.Value), Max: g.Max(r => r.Value), Count: g.Count()));

        var groups = actual.EnumerateObject().ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), groups.Select(g => g.Name).Order(StringComparer.Ordinal));
        foreach (var group in groups)
        {
            var e = expected[group.Name];
            Assert.Equal(e.Sum, group.Value.GetProperty("sum").GetDouble());
            Assert.Equal(e.Min, group.Value.GetProperty("min").GetDouble());
            Assert.Equal(e.Max, group.Value.GetProperty("max").GetDouble());
            Assert.Equal(e.Count, group.Value.GetProperty("count").GetInt64());
        }

        // The total without break agrees with the sum of all groups.
        var totalQuery = query.Where(q => q.Item1 != "break").ToArray();
        var total = ApiCalls.Value(await stats.Call(ApiMethod.Get, "net/edge", query: totalQuery));
        Assert.Equal(expected.Values.Sum(e => e.Count), total.GetProperty("count").GetInt64());
        Assert.Equal(expected.Values.Sum(e => e.Sum), total.GetProperty("sum").GetDouble());
        return true;
    }
}
