using Kv4.Engine;
using Kv4.Engine.Model;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

public class RecoveryTests
{
    [Fact]
    public async Task Reopen_restores_values_versions_tombstones_secondary_keys_counts_and_sequences()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("a/b", "k1"), Json("{\"n\":1}"), "u", secondaryKeys: new SecondaryKeys(K2: "x"));
        var v2 = await s.Store.PutAsync(At("a/c", "k2"), Json("[1,2]"), "u");
        await s.Store.PutAsync(At("a/b", "gone"), Json("1"), "u");
        await s.Store.DeleteAsync(At("a/b", "gone"), "u");
        var last = s.Store.LastSequence;

        await s.ReopenAsync();
        Assert.Equal(last, s.Store.LastSequence);
        Assert.True(s.Store.TryGetLatest(At("a/c", "k2"), out var value));
        Assert.Equal(v2.Version, value.Version);
        Assert.Equal("[1,2]", Text(value.Json));
        Assert.False(s.Store.TryGetLatest(At("a/b", "gone"), out _));
        Assert.True(s.Store.TryGetBySecondaryKey("b1", "data", "a/b", SecondaryKeySlot.K2, "x", out var owner, out _));
        Assert.Equal("k1", owner);
        Assert.Equal([new LayerCount("data", 2)], s.Store.ListLayers("b1"));
        Assert.Equal(["a/b", "a/c"], s.Store.ListPaths("b1", "data", ""));
        Assert.Equal(2, (await s.Store.GetHistoryAsync(At("a/b", "gone"), HistoryQuery.All)).Count);

        var next = await s.Store.PutAsync(At("a/c", "k2"), Json("3"), "u", WriteCondition.IfVersion(v2.Version));
        Assert.Equal(last + 1, next.Sequence);
    }
}
