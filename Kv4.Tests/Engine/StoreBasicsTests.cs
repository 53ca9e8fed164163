using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class StoreBasicsTests
{
    [Fact]
    public async Task Put_then_get_returns_the_compact_value_with_its_version()
    {
        await using var s = ScratchStore.Open();
        var written = await s.Store.PutAsync(At("a/b", "k1"), Json("{ \"x\" : 1 }"), "elena");
        Assert.True(written.Applied);
        Assert.Equal(1, written.PartitionSequence);
        Assert.Equal((written.Partition, written.PartitionSequence), (written.Version.Partition, written.Version.PartitionSequence));
        Assert.True(s.Store.TryGetLatest(At("a/b", "k1"), out var value));
        Assert.Equal("{\"x\":1}", Text(value.Json));
        Assert.Equal(written.Version, value.Version);
        Assert.Equal("elena", value.Actor);
        Assert.Equal(s.Clock.NowMs, value.TimestampMs);
        Assert.Equal(1, s.Store.AppendedRecords);
    }

    [Fact]
    public async Task Leading_and_trailing_slashes_address_the_same_path()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("/a/b/", "k"), Json("1"), "u");
        Assert.True(s.Store.TryGetLatest(At("a/b", "k"), out _));
        Assert.Equal(["k"], s.Store.ListKeys("b1", "data", "/a/b"));
    }

    [Fact]
    public async Task Every_put_appends_a_new_version_with_a_growing_sequence()
    {
        await using var s = ScratchStore.Open();
        var first = await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        var second = await s.Store.PutAsync(At("p", "k"), Json("2"), "u");
        Assert.True(second.Version.Value > first.Version.Value);
        Assert.True(s.Store.TryGetLatest(At("p", "k"), out var value));
        Assert.Equal("2", Text(value.Json));
    }

    [Fact]
    public async Task Compare_and_set_succeeds_on_the_current_version_and_conflicts_on_a_stale_one()
    {
        await using var s = ScratchStore.Open();
        var v1 = await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        var v2 = await s.Store.PutAsync(At("p", "k"), Json("2"), "u", WriteCondition.IfVersion(v1.Version));
        Assert.True(v2.Applied);
        var conflict = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("3"), "u", WriteCondition.IfVersion(v1.Version)));
        Assert.Equal(EngineError.VersionConflict, conflict.Error);
        Assert.True(s.Store.TryGetLatest(At("p", "k"), out var value));
        Assert.Equal("2", Text(value.Json));
        Assert.Equal(v2.PartitionSequence, s.Store.AppendedRecords);
    }

    [Fact]
    public async Task Compare_and_set_on_an_absent_or_deleted_entry_is_not_found()
    {
        await using var s = ScratchStore.Open();
        var absent = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("1"), "u", WriteCondition.IfVersion(new VersionId(1))));
        Assert.Equal(EngineError.NotFound, absent.Error);

        var v1 = await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        await s.Store.DeleteAsync(At("p", "k"), "u");
        var deleted = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("2"), "u", WriteCondition.IfVersion(v1.Version)));
        Assert.Equal(EngineError.NotFound, deleted.Error);
    }

    [Fact]
    public async Task If_absent_refuses_a_live_entry_but_accepts_a_deleted_one()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "k"), Json("1"), "u", WriteCondition.IfAbsent);
        var exists = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("2"), "u", WriteCondition.IfAbsent));
        Assert.Equal(EngineError.Exists, exists.Error);
        await s.Store.DeleteAsync(At("p", "k"), "u");
        Assert.True((await s.Store.PutAsync(At("p", "k"), Json("3"), "u", WriteCondition.IfAbsent)).Applied);
    }

    [Fact]
    public async Task Secondary_keys_find_the_entry_and_a_clash_is_refused_without_writing()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("accounts", "lily"), Json("{}"), "u", secondaryKeys: new SecondaryKeys(K2: "lily@example.com"));
        Assert.True(s.Store.TryGetBySecondaryKey("b1", "data", "accounts", SecondaryKeySlot.K2, "lily@example.com", out var key, out _));
        Assert.Equal("lily", key);
        Assert.False(s.Store.TryGetBySecondaryKey("b1", "data", "accounts", SecondaryKeySlot.K3, "lily@example.com", out _, out _));
        Assert.True(s.Store.TryGetSecondaryKeys(At("accounts", "lily"), out var keys));
        Assert.Equal("lily@example.com", keys.K2);

        var before = s.Store.AppendedRecords;
        var clash = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("accounts", "rose"), Json("{}"), "u", secondaryKeys: new SecondaryKeys(K2: "lily@example.com")));
        Assert.Equal(EngineError.SecondaryKeyTaken, clash.Error);
        Assert.Equal(before, s.Store.AppendedRecords);
        Assert.False(s.Store.TryGetLatest(At("accounts", "rose"), out _));

        // The same key may keep its own secondary key; another path is another table.
        await s.Store.PutAsync(At("accounts", "lily"), Json("{\"v\":2}"), "u", secondaryKeys: new SecondaryKeys(K2: "lily@example.com"));
        await s.Store.PutAsync(At("other", "rose"), Json("{}"), "u", secondaryKeys: new SecondaryKeys(K2: "lily@example.com"));
    }

    [Fact]
    public async Task A_deleted_or_changed_entry_releases_its_secondary_key()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "a"), Json("1"), "u", secondaryKeys: new SecondaryKeys(K2: "x"));
        await s.Store.DeleteAsync(At("p", "a"), "u");
        Assert.False(s.Store.TryGetBySecondaryKey("b1", "data", "p", SecondaryKeySlot.K2, "x", out _, out _));
        await s.Store.PutAsync(At("p", "b"), Json("1"), "u", secondaryKeys: new SecondaryKeys(K2: "x"));
        await s.Store.PutAsync(At("p", "b"), Json("2"), "u", secondaryKeys: new SecondaryKeys(K2: "y"));
        await s.Store.PutAsync(At("p", "c"), Json("1"), "u", secondaryKeys: new SecondaryKeys(K2: "x"));
        Assert.True(s.Store.TryGetBySecondaryKey("b1", "data", "p", SecondaryKeySlot.K2, "x", out var owner, out _));
        Assert.Equal("c", owner);
    }

    [Fact]
    public async Task List_keys_is_sorted_ordinally_and_hides_tombstones()
    {
        await using var s = ScratchStore.Open();
        foreach (var key in new[] { "b", "B", "a", "aa", "é" })
            await s.Store.PutAsync(At("p", key), Json("1"), "u");
        await s.Store.PutAsync(At("p/q", "deeper"), Json("1"), "u");
        await s.Store.DeleteAsync(At("p", "aa"), "u");
        Assert.Equal(["B", "a", "b", "é"], s.Store.ListKeys("b1", "data", "p"));
        Assert.Empty(s.Store.ListKeys("b1", "data", "nothing/here"));
        Assert.Empty(s.Store.ListKeys("b1", "ns", "p"));
    }

    [Fact]
    public async Task List_paths_returns_live_paths_under_a_prefix_by_whole_segments_and_depth()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("a/b", "k1"), Json("1"), "u");
        await s.Store.PutAsync(At("a/c", "k2"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b/d", "k3"), Json("1"), "u");
        await s.Store.PutAsync(At("ab", "k4"), Json("1"), "u");
        await s.Store.PutAsync(At("a-z", "k5"), Json("1"), "u");
        await s.Store.DeleteAsync(At("a/b", "k1"), "u");

        Assert.Equal(["a/b/d", "a/c"], s.Store.ListPaths("b1", "data", "a"));
        Assert.Equal(["a/c"], s.Store.ListPaths("b1", "data", "a", maxDepth: 2));
        Assert.Equal(["a-z", "a/b/d", "a/c", "ab"], s.Store.ListPaths("b1", "data", ""));
        Assert.Equal(["a-z", "ab"], s.Store.ListPaths("b1", "data", "", maxDepth: 1));
        Assert.Equal(["a/b/d"], s.Store.ListPaths("b1", "data", "a/b"));
        Assert.Empty(s.Store.ListPaths("b1", "data", "a/b/d", maxDepth: 2));
        Assert.Empty(s.Store.ListPaths("b1", "ns", ""));
    }

    [Fact]
    public async Task List_layers_counts_live_entries_per_layer()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("a", "k1"), Json("1"), "u");
        await s.Store.PutAsync(At("a", "k1"), Json("2"), "u");
        await s.Store.PutAsync(At("a/b", "k2"), Json("1"), "u");
        await s.Store.PutAsync(At("x", "k", layer: "router:pkt"), Json("1"), "u");
        await s.Store.PutAsync(At("x", "gone", layer: "ns"), Json("1"), "u");
        await s.Store.DeleteAsync(At("x", "gone", layer: "ns"), "u");
        Assert.Equal([new LayerCount("data", 2), new LayerCount("router:pkt", 1)], s.Store.ListLayers("b1"));
        Assert.Empty(s.Store.ListLayers("nobody"));
    }

    [Fact]
    public async Task List_buckets_lists_buckets_with_live_entries_by_prefix()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "k", bucket: "elena"), Json("1"), "u");
        await s.Store.PutAsync(At("p", "k", bucket: "elena#lily"), Json("1"), "u");
        await s.Store.PutAsync(At("p", "k", bucket: "elena#rose"), Json("1"), "u");
        await s.Store.PutAsync(At("p", "k", bucket: "bob"), Json("1"), "u");
        await s.Store.DeleteAsync(At("p", "k", bucket: "elena#rose"), "u");
        Assert.Equal(["bob", "elena", "elena#lily"], s.Store.ListBuckets());
        Assert.Equal(["elena#lily"], s.Store.ListBuckets("elena#"));
    }

    [Fact]
    public async Task Delete_appends_a_tombstone_and_hides_the_entry()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        var deleted = await s.Store.DeleteAsync(At("p", "k"), "u");
        Assert.True(deleted.Applied);
        Assert.Equal(2, deleted.PartitionSequence);
        Assert.False(s.Store.TryGetLatest(At("p", "k"), out _));
        Assert.False(s.Store.TryGetSecondaryKeys(At("p", "k"), out _));
        Assert.Empty(s.Store.ListKeys("b1", "data", "p"));
        Assert.Empty(s.Store.ListPaths("b1", "data", ""));
        Assert.Empty(s.Store.ListLayers("b1"));

        var again = await s.Store.DeleteAsync(At("p", "k"), "u");
        Assert.False(again.Applied);
        Assert.Equal(2, s.Store.AppendedRecords);
    }

    [Fact]
    public async Task Conditional_delete_checks_the_version()
    {
        await using var s = ScratchStore.Open();
        var v1 = await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        await s.Store.PutAsync(At("p", "k"), Json("2"), "u");
        var stale = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.DeleteAsync(At("p", "k"), "u", WriteCondition.IfVersion(v1.Version)));
        Assert.Equal(EngineError.VersionConflict, stale.Error);
        Assert.True(s.Store.TryGetLatest(At("p", "k"), out _));
        var missing = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.DeleteAsync(At("p", "nope"), "u", WriteCondition.IfVersion(v1.Version)));
        Assert.Equal(EngineError.NotFound, missing.Error);
    }

    [Fact]
    public async Task Delete_tree_tombstones_everything_at_and_below_the_prefix_and_counts_it()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("a", "k0"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b", "k1"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b", "k2"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b/c", "k3"), Json("1"), "u");
        await s.Store.PutAsync(At("a/bc", "k4"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b", "dead"), Json("1"), "u");
        await s.Store.DeleteAsync(At("a/b", "dead"), "u");
        var before = s.Store.AppendedRecords;

        Assert.Equal(3, await s.Store.DeleteTreeAsync("b1", "data", "a/b", "u"));
        Assert.Equal(before + 3, s.Store.AppendedRecords);
        Assert.Equal(["a", "a/bc"], s.Store.ListPaths("b1", "data", ""));
        Assert.Equal(0, await s.Store.DeleteTreeAsync("b1", "data", "a/b", "u"));
        Assert.Equal(2, await s.Store.DeleteTreeAsync("b1", "data", "", "u"));
        Assert.Empty(s.Store.ListLayers("b1"));
    }

    [Fact]
    public async Task Delete_bucket_removes_everything_and_a_recreated_bucket_sees_nothing_of_it()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "k", bucket: "lily"), Json("1"), "u", secondaryKeys: new SecondaryKeys(K2: "mail"));
        await s.Store.PutAsync(At("p", "k", bucket: "lily"), Json("2"), "u", secondaryKeys: new SecondaryKeys(K2: "mail"));
        await s.Store.PutAsync(At("q", "k", bucket: "lily", layer: "ns"), Json("1"), "u");
        await s.Store.PutAsync(At("p", "k", bucket: "rose"), Json("1"), "u");

        Assert.Equal(2, await s.Store.DeleteBucketAsync("lily", "admin"));
        Assert.Equal(["rose"], s.Store.ListBuckets());
        Assert.False(s.Store.TryGetLatest(At("p", "k", bucket: "lily"), out _));
        Assert.Empty(await s.Store.GetHistoryAsync(At("p", "k", bucket: "lily"), HistoryQuery.All));
        Assert.Equal(0, await s.Store.DeleteBucketAsync("lily", "admin"));

        await s.Store.PutAsync(At("p", "k", bucket: "lily"), Json("\"new\""), "u");
        var history = await s.Store.GetHistoryAsync(At("p", "k", bucket: "lily"), HistoryQuery.All);
        Assert.Equal(["\"new\""], history.Select(h => Text(h.Value)));
        Assert.Empty(s.Store.ListPaths("b1", "ns", ""));
        Assert.False(s.Store.TryGetBySecondaryKey("lily", "data", "p", SecondaryKeySlot.K2, "mail", out _, out _));
        Assert.True(s.Store.TryGetLatest(At("p", "k", bucket: "rose"), out _));

        await s.ReopenAsync();
        history = await s.Store.GetHistoryAsync(At("p", "k", bucket: "lily"), HistoryQuery.All);
        Assert.Equal(["\"new\""], history.Select(h => Text(h.Value)));
        Assert.Equal([new LayerCount("data", 1)], s.Store.ListLayers("lily"));
    }

    [Theory]
    [InlineData("bad bucket/", "data", "p", "k", EngineError.BadBucket)]
    [InlineData("b1", "Data", "p", "k", EngineError.BadLayer)]
    [InlineData("b1", "data", "a//b", "k", EngineError.BadPath)]
    [InlineData("b1", "data", "a/../b", "k", EngineError.BadPath)]
    [InlineData("b1", "data", "p", "", EngineError.BadKey)]
    [InlineData("b1", "data", "p", "a\u0001", EngineError.BadKey)]
    public async Task Bad_addresses_are_refused_and_nothing_is_written(string bucket, string layer, string path, string key, EngineError expected)
    {
        await using var s = ScratchStore.Open();
        var error = await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(new EntryAddress(bucket, layer, path, key), Json("1"), "u"));
        Assert.Equal(expected, error.Error);
        Assert.Equal(0, s.Store.AppendedRecords);
        Assert.Empty(s.Store.ListBuckets());
    }

    [Fact]
    public async Task Bad_json_too_large_values_and_bad_secondary_keys_are_refused_without_writing()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, MaxValueBytes = 16 });
        Assert.Equal(EngineError.BadJson, (await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("{\"a\":"), "u"))).Error);
        Assert.Equal(EngineError.ValueTooLarge, (await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("\"12345678901234567890\""), "u"))).Error);
        Assert.Equal(EngineError.BadKey, (await Assert.ThrowsAsync<EngineException>(async () =>
            await s.Store.PutAsync(At("p", "k"), Json("1"), "u", secondaryKeys: new SecondaryKeys(K3: "")))).Error);
        Assert.Equal(0, s.Store.AppendedRecords);
        Assert.False(s.Store.TryGetLatest(At("p", "k"), out _));
        // White space does not count against the limit: the value is stored compact.
        await s.Store.PutAsync(At("p", "k"), Json("[ 1, 2, 3, 4, 5, 6, 7 ]"), "u");
    }

    [Fact]
    public async Task Partitions_are_stable_and_in_range()
    {
        await using var s = ScratchStore.Open();
        var p = s.Store.PartitionOf("b1", "data", "a/b");
        Assert.InRange(p, 0, 63);
        Assert.Equal(p, s.Store.PartitionOf("b1", "data", "a/b"));
        var written = await s.Store.PutAsync(At("a/b", "k"), Json("1"), "u");
        Assert.Equal(p, written.Partition);
        Assert.Equal(1, written.PartitionSequence);
        Assert.Equal(2, (await s.Store.PutAsync(At("a/b", "k2"), Json("1"), "u")).PartitionSequence);
        var spread = Enumerable.Range(0, 1000).Select(i => s.Store.PartitionOf("b1", "data", $"path/{i}")).Distinct().Count();
        Assert.True(spread > 50, $"1000 paths landed in only {spread} partitions");
    }

    [Fact]
    public async Task Operations_after_dispose_throw_closed()
    {
        var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        var store = s.Store;
        await store.DisposeAsync();
        Assert.Equal(EngineError.Closed, (await Assert.ThrowsAsync<EngineException>(async () =>
            await store.PutAsync(At("p", "k"), Json("1"), "u"))).Error);
        Assert.Equal(EngineError.Closed, Assert.Throws<EngineException>(() => store.TryGetLatest(At("p", "k"), out _)).Error);
        await s.ReopenAsync();
        Assert.True(s.Store.TryGetLatest(At("p", "k"), out _));
        await s.DisposeAsync();
    }
}
