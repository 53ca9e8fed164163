using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Retention;
using Kv4.Engine.Rules;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Compaction against the simplest model: every key's list of versions, newest first. Random runs of puts and deletes
/// over a few keys in layers with different rules (the last 2; younger than 5 s; everything), with time moving, big
/// writes to a churn key (so the small keys' versions spread over 16 MiB segments), compactions and reopens in between.
/// Afterwards, for every key: its history is a prefix of the model's (newest first: nothing invented, no gap) at least
/// as long as what its rule retains now; the latest read is the model's; a read as of every instant from its oldest
/// returned version on answers the model's state then, and an instant before it answers the model's state or
/// history_truncated.
/// </summary>
[Trait("Category", "Property")]
public class CompactionProperties
{
    private static readonly string[] Layers = ["data", "tmp", "keep"];
    private static readonly string[] Keys = ["k1", "k2", "k3"];
    private const long Start = 1_700_000_000_000;

    private static RetentionPolicy Policy() => RetentionPolicy.Create(RetentionRule.KeepEverything,
    [
        new LayerRetention("data", new RetentionRule(2, null), []),
        new LayerRetention("tmp", new RetentionRule(null, 5), []),
        new LayerRetention("churn", new RetentionRule(1, null), []),
    ], out _)!;

    public abstract record Step;

    public sealed record Put(string Layer, string Key, int N, long AdvanceMs) : Step;

    public sealed record Delete(string Layer, string Key, long AdvanceMs) : Step;

    /// <summary>About <c>Megabytes</c> MiB of overwrites of one churn key.</summary>
    public sealed record Churn(int Megabytes) : Step;

    public sealed record Compact : Step;

    public sealed record Reopen : Step;

    private sealed record Version(long AtMs, string? Json);

    private static Gen<Step[]> Runs()
    {
        var advance = Gen.Elements(0L, 1L, 700L, 2_000L);
        var put = from l in Gen.Elements(Layers) from k in Gen.Elements(Keys) from n in Gen.Choose(0, 99) from a in advance
            select (Step)new Put(l, k, n, a);
        var delete = from l in Gen.Elements(Layers) from k in Gen.Elements(Keys) from a in advance select (Step)new Delete(l, k, a);
        var churn = Gen.Choose(4, 20).Select(m => (Step)new Churn(m));
        var step = Gen.Frequency((10, put), (3, delete), (3, churn), (2, Gen.Constant((Step)new Compact())), (1, Gen.Constant((Step)new Reopen())));
        // Always a compaction after enough churn at the end, so every run compacts at least once.
        return Gen.Choose(5, 30).SelectMany(n => Gen.ArrayOf(step, n)).Select(s => s.Append(new Churn(36)).Append(new Compact()).ToArray());
    }

    [Property(MaxTest = 12)]
    public Property Compaction_keeps_every_retained_version_and_invents_nothing() =>
        Prop.ForAll(Runs().ToArbitrary(), run => RunAsync(run).GetAwaiter().GetResult());

    private static async Task RunAsync(Step[] run)
    {
        using var directory = new TempDirectory("compact-prop");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        var options = new StoreOptions { DataDirectory = directory.Path, Clock = clock, LogSegmentSizeMB = 16, Retention = Policy(), CheckpointEveryRecords = 50 };
        var model = new Dictionary<(string Layer, string Key), List<Version>>();
        var padding = new string('x', 256_000);
        var churned = 0;
        var compacted = 0;
        var store = Kv4Store.Open(options);
        try
        {
            foreach (var step in run)
            {
                switch (step)
                {
                    case Put put:
                        clock.Advance(TimeSpan.FromMilliseconds(put.AdvanceMs));
                        var json = $"{{\"n\":{put.N}}}";
                        await store.PutAsync(new EntryAddress("b1", put.Layer, "p", put.Key), Encoding.UTF8.GetBytes(json), "t");
                        VersionsOf(model, put.Layer, put.Key).Insert(0, new Version(clock.NowMs, json));
                        break;
                    case Delete delete:
                        clock.Advance(TimeSpan.FromMilliseconds(delete.AdvanceMs));
                        if ((await store.DeleteAsync(new EntryAddress("b1", delete.Layer, "p", delete.Key), "t")).Applied)
                            VersionsOf(model, delete.Layer, delete.Key).Insert(0, new Version(clock.NowMs, null));
                        break;
                    case Churn churn:
                        for (var i = 0; i < churn.Megabytes * 4; i++)
                            await store.PutAsync(new EntryAddress("b1", "churn", "big", "c"), Encoding.UTF8.GetBytes($"{{\"n\":{churned++},\"pad\":\"{padding}\"}}"), "t");
                        break;
                    case Compact:
                        if ((await store.CompactAsync(minReclaimFraction: 0.01)).Skipped is null) compacted++;
                        break;
                    case Reopen:
                        await store.DisposeAsync();
                        store = Kv4Store.Open(options);
                        break;
                }
            }
            Assert.True(compacted > 0, "the run never compacted");
            await CompareAsync(store, model, clock.NowMs);
            await store.DisposeAsync();
            store = Kv4Store.Open(options);
            await CompareAsync(store, model, clock.NowMs);
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    private static List<Version> VersionsOf(Dictionary<(string, string), List<Version>> model, string layer, string key) =>
        model.TryGetValue((layer, key), out var versions) ? versions : model[(layer, key)] = [];

    private static async Task CompareAsync(Kv4Store store, Dictionary<(string Layer, string Key), List<Version>> model, long nowMs)
    {
        var policy = Policy();
        foreach (var ((layer, key), versions) in model)
        {
            var address = new EntryAddress("b1", layer, "p", key);
            var history = await store.GetHistoryAsync(address, HistoryQuery.All with { Limit = int.MaxValue });
            var retained = RetainedVersions.Count(versions.Select(v => new VersionStamp(v.AtMs, v.Json is null)).ToList(), policy.RuleFor(layer, "p"), nowMs);
            var what = $"{layer}/{key}: model {string.Join(",", versions.Select(v => $"{v.Json ?? "-"}@{v.AtMs - Start}"))}, " +
                $"store {string.Join(",", history.Select(h => $"{(h.Value is { } j ? Encoding.UTF8.GetString(j.Span) : "-")}@{h.TimestampMs - Start}"))}";
            Assert.True(history.Count >= retained && history.Count <= versions.Count, $"{what}: {retained} retained");
            for (var i = 0; i < history.Count; i++)
            {
                Assert.True(versions[i].AtMs == history[i].TimestampMs, what);
                Assert.True(versions[i].Json == (history[i].Value is { } v ? Encoding.UTF8.GetString(v.Span) : null), what);
            }

            var latest = versions[0].Json;
            Assert.True(latest == (store.TryGetLatest(address, out var value) ? Encoding.UTF8.GetString(value.Json.Span) : null), what);

            if (history.Count == 0) continue;
            var oldest = history[^1].TimestampMs;
            foreach (var t in versions.Select(v => v.AtMs).Append(oldest - 1).Append(Start - 1).Distinct())
            {
                var expected = versions.FirstOrDefault(v => v.AtMs <= t)?.Json;
                try
                {
                    var actual = await store.GetAtAsync(address, t);
                    Assert.True(expected == (actual is { } a ? Encoding.UTF8.GetString(a.Json.Span) : null), $"{what}: at +{t - Start}");
                }
                catch (HistoryTruncatedException e)
                {
                    Assert.True(t < oldest, $"{what}: at +{t - Start} refused though a version at or before it was returned");
                    Assert.Equal(oldest, e.OldestRetainedMs);
                }
            }
        }
    }
}
