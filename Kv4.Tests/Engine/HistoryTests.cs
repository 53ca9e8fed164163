using Kv4.Engine;
using Kv4.Engine.Model;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class HistoryTests
{
    [Fact]
    public async Task History_is_newest_first_with_actor_op_value_and_version_and_keeps_deletes()
    {
        await using var s = ScratchStore.Open();
        var v1 = await s.Store.PutAsync(At("p", "k"), Json("\"v1\""), "elena");
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        var v2 = await s.Store.PutAsync(At("p", "k"), Json("\"v2\""), "lily");
        s.Clock.Advance(TimeSpan.FromSeconds(1));
        var gone = await s.Store.DeleteAsync(At("p", "k"), "admin");

        var history = await s.Store.GetHistoryAsync(At("p", "k"), HistoryQuery.All);
        Assert.Equal([gone.Version, v2.Version, v1.Version], history.Select(h => h.Version));
        Assert.Equal([Operation.Delete, Operation.Put, Operation.Put], history.Select(h => h.Op));
        Assert.Equal(["admin", "lily", "elena"], history.Select(h => h.Actor));
        Assert.Equal(["<null>", "\"v2\"", "\"v1\""], history.Select(h => Text(h.Value)));
        Assert.Equal([v1.TimestampMs + 2000, v1.TimestampMs + 1000, v1.TimestampMs], history.Select(h => h.TimestampMs));
        Assert.All(history, h => Assert.Equal("k", h.Key));
    }

    [Fact]
    public async Task History_is_bounded_by_an_inclusive_time_range_and_a_limit()
    {
        await using var s = ScratchStore.Open();
        var start = s.Clock.NowMs;
        for (var i = 0; i < 10; i++)
        {
            await s.Store.PutAsync(At("p", "k"), Json(i.ToString()), "u");
            s.Clock.Advance(TimeSpan.FromSeconds(1));
        }
        var window = await s.Store.GetHistoryAsync(At("p", "k"), new HistoryQuery(start + 3000, start + 6000));
        Assert.Equal(["6", "5", "4", "3"], window.Select(h => Text(h.Value)));
        var limited = await s.Store.GetHistoryAsync(At("p", "k"), new HistoryQuery(Limit: 2));
        Assert.Equal(["9", "8"], limited.Select(h => Text(h.Value)));
        var windowLimited = await s.Store.GetHistoryAsync(At("p", "k"), new HistoryQuery(start + 3000, start + 6000, 3));
        Assert.Equal(["6", "5", "4"], windowLimited.Select(h => Text(h.Value)));
        Assert.Empty(await s.Store.GetHistoryAsync(At("p", "k"), new HistoryQuery(start + 60_000, long.MaxValue)));
        Assert.Empty(await s.Store.GetHistoryAsync(At("p", "never"), HistoryQuery.All));
    }

    [Fact]
    public async Task Path_history_merges_every_key_live_or_deleted_newest_first()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "a"), Json("1"), "u");
        await s.Store.PutAsync(At("p", "b"), Json("2"), "u");
        await s.Store.PutAsync(At("p/deeper", "c"), Json("9"), "u");
        await s.Store.PutAsync(At("p", "a"), Json("3"), "u");
        await s.Store.DeleteAsync(At("p", "b"), "u");

        var history = await s.Store.GetPathHistoryAsync("b1", "data", "p", HistoryQuery.All);
        Assert.Equal(["b:<null>", "a:3", "b:2", "a:1"], history.Select(h => $"{h.Key}:{Text(h.Value)}"));
        var limited = await s.Store.GetPathHistoryAsync("b1", "data", "p", new HistoryQuery(Limit: 2));
        Assert.Equal(["b:<null>", "a:3"], limited.Select(h => $"{h.Key}:{Text(h.Value)}"));
    }

    [Fact]
    public async Task History_survives_reopen_and_reads_versions_that_left_memory_for_disk()
    {
        // The smallest log buffer the engine allows is 16 MiB (4 MiB pages); ~30 MiB of versions push the
        // early ones out of memory, so their history is read back from disk pages.
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, LogMemorySizeBits = 16 });
        var filler = Json("\"" + new string('x', 1_000_000) + "\"");
        for (var i = 0; i < 60; i++)
        {
            await s.Store.PutAsync(At("p", "k"), Json(i.ToString()), "u");
            if (i % 2 == 0) await s.Store.PutAsync(At("filler", "f" + i), filler, "u");
        }
        Assert.True(s.Store.LogTailAddress > 28_000_000);
        var before = await s.Store.GetHistoryAsync(At("p", "k"), HistoryQuery.All);
        Assert.Equal(Enumerable.Range(0, 60).Reverse().Select(i => i.ToString()), before.Select(h => Text(h.Value)));
        var bigHistory = await s.Store.GetPathHistoryAsync("b1", "data", "filler", HistoryQuery.All);
        Assert.Equal(30, bigHistory.Count);
        Assert.All(bigHistory, h => Assert.Equal(1_000_002, h.Value!.Value.Length));

        await s.ReopenAsync();
        var after = await s.Store.GetHistoryAsync(At("p", "k"), HistoryQuery.All);
        Assert.Equal(before.Select(h => (h.Version, Text(h.Value), h.TimestampMs)), after.Select(h => (h.Version, Text(h.Value), h.TimestampMs)));
    }

    [Fact]
    public async Task History_of_a_write_not_yet_committed_is_readable()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, CommitIntervalMs = 60_000 });
        await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        var history = await s.Store.GetHistoryAsync(At("p", "k"), HistoryQuery.All);
        Assert.Single(history);
    }
}
