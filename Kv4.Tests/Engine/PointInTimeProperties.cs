using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Reads as of a point in time against the simplest model there is: the list of timestamped writes and deletes. The
/// state of a key at t is the last write of it stamped at or before t (a delete: absent). Random runs of puts, deletes,
/// subtree deletes and reopens (so chains are read back from a recovered log), with time standing still or moving
/// between steps; afterwards every key, key listing (whole and in pages of two) and path listing (at several prefixes
/// and depths) is compared at every instant from before the first write to after the last.
/// </summary>
[Trait("Category", "Property")]
public class PointInTimeProperties
{
    private static readonly string[] Paths = ["", "a", "a/b", "ab"];
    private static readonly string[] Keys = ["k1", "k2", "k3"];
    private const long Start = 1_700_000_000_000;

    public abstract record Step(long AdvanceMs);

    public sealed record Put(string Path, string Key, int N, long AdvanceMs) : Step(AdvanceMs);

    public sealed record Delete(string Path, string Key, long AdvanceMs) : Step(AdvanceMs);

    public sealed record DeleteTree(string Prefix, long AdvanceMs) : Step(AdvanceMs);

    public sealed record Reopen() : Step(0);

    /// <summary>One write as the model keeps it: null value for a delete.</summary>
    private sealed record Write(long AtMs, string Path, string Key, string? Json);

    private static Gen<Step[]> Runs()
    {
        var advance = Gen.Elements(0L, 0L, 1L, 3L);
        var put = from p in Gen.Elements(Paths) from k in Gen.Elements(Keys) from n in Gen.Choose(0, 99) from a in advance
            select (Step)new Put(p, k, n, a);
        var delete = from p in Gen.Elements(Paths) from k in Gen.Elements(Keys) from a in advance select (Step)new Delete(p, k, a);
        var tree = from p in Gen.Elements("a", "", "ab") from a in advance select (Step)new DeleteTree(p, a);
        var step = Gen.Frequency((8, put), (4, delete), (1, tree), (1, Gen.Constant((Step)new Reopen())));
        return Gen.Choose(1, 30).SelectMany(n => Gen.ArrayOf(step, n));
    }

    [Property(MaxTest = 60)]
    public Property Reads_at_an_instant_answer_the_models_state_then() =>
        Prop.ForAll(Runs().ToArbitrary(), run => RunAsync(run).GetAwaiter().GetResult());

    private static async Task RunAsync(Step[] run)
    {
        using var directory = new TempDirectory("at");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        var options = new StoreOptions { DataDirectory = directory.Path, Clock = clock, CheckpointEveryRecords = 5 };
        var writes = new List<Write>();
        var store = Kv4Store.Open(options);
        try
        {
            foreach (var step in run)
            {
                clock.Advance(TimeSpan.FromMilliseconds(step.AdvanceMs));
                switch (step)
                {
                    case Put put:
                        var json = $"{{\"n\":{put.N}}}";
                        await store.PutAsync(new EntryAddress("b1", "data", put.Path, put.Key), Encoding.UTF8.GetBytes(json), "t");
                        writes.Add(new Write(clock.NowMs, put.Path, put.Key, json));
                        break;
                    case Delete delete:
                        if ((await store.DeleteAsync(new EntryAddress("b1", "data", delete.Path, delete.Key), "t")).Applied)
                            writes.Add(new Write(clock.NowMs, delete.Path, delete.Key, null));
                        break;
                    case DeleteTree tree:
                        var expected = Paths.Where(p => Under(p, tree.Prefix))
                            .SelectMany(p => Keys.Select(k => (p, k)))
                            .Count(a => StateAt(writes, a.p, a.k, long.MaxValue) is not null);
                        Assert.Equal(expected, await store.DeleteTreeAsync("b1", "data", tree.Prefix, "t"));
                        foreach (var p in Paths.Where(p => Under(p, tree.Prefix)))
                            foreach (var k in Keys)
                                if (StateAt(writes, p, k, long.MaxValue) is not null) writes.Add(new Write(clock.NowMs, p, k, null));
                        break;
                    case Reopen:
                        await store.DisposeAsync();
                        store = Kv4Store.Open(options);
                        break;
                }
            }
            await CompareAsync(store, writes, clock.NowMs);
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    private static async Task CompareAsync(Kv4Store store, List<Write> writes, long endMs)
    {
        for (var t = Start - 1; t <= endMs + 1; t++)
        {
            foreach (var path in Paths)
            {
                foreach (var key in Keys)
                {
                    var expected = StateAt(writes, path, key, t);
                    var actual = await store.GetAtAsync(new EntryAddress("b1", "data", path, key), t);
                    Assert.True(expected == (actual is { } v ? Encoding.UTF8.GetString(v.Json.Span) : null),
                        $"{path}/{key} at +{t - Start}: expected {expected ?? "absent"}, got {(actual is { } a ? Encoding.UTF8.GetString(a.Json.Span) : "absent")}");
                }
                var live = Keys.Where(k => StateAt(writes, path, k, t) is not null).ToList();
                Assert.Equal(live, await store.ListKeysAtAsync("b1", "data", path, t, null, int.MaxValue));
                var paged = new List<string>();
                string? after = null;
                while (true)
                {
                    var page = await store.ListKeysAtAsync("b1", "data", path, t, after, 2);
                    paged.AddRange(page);
                    if (page.Count < 2) break;
                    after = page[^1];
                }
                Assert.Equal(live, paged);
            }
            foreach (var (prefix, depth) in new[] { ("", (int?)null), ("", 1), ("a", null), ("a", 1), ("ab", null) })
            {
                var expected = Paths.Where(p => Under(p, prefix) && Depth(p) <= (depth ?? int.MaxValue)
                        && Keys.Any(k => StateAt(writes, p, k, t) is not null))
                    .Order(StringComparer.Ordinal).ToList();
                Assert.Equal(expected, await store.ListPathsAtAsync("b1", "data", prefix, depth, t, null, int.MaxValue));
                if (expected.Count > 1)
                    Assert.Equal(expected.Skip(1).Take(1), await store.ListPathsAtAsync("b1", "data", prefix, depth, t, expected[0], 1));
            }
        }
    }

    /// <summary>The model: the last write of the key stamped at or before t (writes are in the order they were made).</summary>
    private static string? StateAt(List<Write> writes, string path, string key, long t) =>
        writes.LastOrDefault(w => w.Path == path && w.Key == key && w.AtMs <= t)?.Json;

    private static bool Under(string path, string prefix) => prefix.Length == 0 || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);

    private static int Depth(string path) => path.Length == 0 ? 0 : path.Count(c => c == '/') + 1;
}
