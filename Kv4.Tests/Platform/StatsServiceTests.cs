using System.Text.Json;
using Kv4.Services.Api;
using Kv4.Services.Stats;

namespace Kv4.Tests.Platform;

[Trait("Category", "Unit")]
public class StatsServiceTests
{
    // 2016-03-16 05:59:30 UTC: a minute before an hour boundary.
    private static readonly DateTimeOffset Start = new(2016, 3, 16, 5, 59, 30, TimeSpan.Zero);

    private static string Text(in ApiReply reply) => ApiCalls.Render(reply);

    [Fact]
    public async Task Recorded_values_show_after_a_flush_as_sum_min_max_count()
    {
        await using var stats = new StatsFixture(Start);
        foreach (var v in new[] { 3, -1.5, 10 })
            Assert.True((await stats.Call(ApiMethod.Post, "room1", $"{{\"v\":{v}}}", query: ("l", "bytes"))).IsOk);

        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":0,\"min\":null,\"max\":null,\"count\":0}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: ("l", "bytes"))));
        await stats.Recorder.FlushAsync();
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":11.5,\"min\":-1.5,\"max\":10,\"count\":3}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: ("l", "bytes"))));
    }

    [Fact]
    public async Task Break_groups_at_the_depth_of_gs_and_flushes_of_one_minute_merge()
    {
        await using var stats = new StatsFixture(Start);
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":1}", query: ("l", "m"));
        await stats.Recorder.FlushAsync();
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":2}", query: ("l", "m")); // same minute, second flush
        await stats.Recorder.FlushAsync();
        stats.Clock.Advance(TimeSpan.FromMinutes(1)); // 06:00:30
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":4}", query: ("l", "m"));
        await stats.Recorder.FlushAsync();

        Assert.Equal("{\"s\":\"ok\",\"v\":{\"2016:3:16:5\":{\"sum\":3,\"min\":1,\"max\":2,\"count\":2},\"2016:3:16:6\":{\"sum\":4,\"min\":4,\"max\":4,\"count\":1}}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("gs", "2016:3:16:5"), ("ge", "2016:3:16:6"), ("break", "1")])));
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"2016:3:16\":{\"sum\":7,\"min\":1,\"max\":4,\"count\":3}}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("gs", "2016:3:16"), ("break", "1")])));
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":4,\"min\":4,\"max\":4,\"count\":1}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("gs", "2016:3:16:6")])));
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"2016:3:16:5:59\":{\"sum\":3,\"min\":1,\"max\":2,\"count\":2}}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("gs", "2016:3:16:5:59"), ("ge", "2016:3:16:5:59"), ("break", "1")])));
    }

    [Fact]
    public async Task A_query_sums_the_entity_and_every_entity_under_it_and_the_root_the_whole_account()
    {
        await using var stats = new StatsFixture(Start);
        await stats.Call(ApiMethod.Post, "rooms", "{\"v\":1}", query: ("l", "m"));
        await stats.Call(ApiMethod.Post, "rooms/lobby", "{\"v\":2}", query: ("l", "m"));
        await stats.Call(ApiMethod.Post, "rooms/lobby/side", "{\"v\":4}", query: ("l", "m"));
        await stats.Call(ApiMethod.Post, "roomsx", "{\"v\":8}", query: ("l", "m"));
        await stats.Call(ApiMethod.Post, "rooms/lobby", "{\"v\":100}", query: ("l", "other"));
        var bob = new Caller("bob", "bob", CallerKind.Account, []);
        await stats.Call(ApiMethod.Post, "rooms", "{\"v\":1000}", bob, ("l", "m"));
        await stats.Recorder.FlushAsync();

        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":7,\"min\":1,\"max\":4,\"count\":3}}", Text(await stats.Call(ApiMethod.Get, "rooms", query: ("l", "m"))));
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":4,\"min\":4,\"max\":4,\"count\":1}}", Text(await stats.Call(ApiMethod.Get, "rooms/lobby/side", query: ("l", "m"))));
        // The root: every entity of the caller's bucket, of that measurement only, and never another bucket's.
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":15,\"min\":1,\"max\":8,\"count\":4}}", Text(await stats.Call(ApiMethod.Get, "", query: ("l", "m"))));
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"2016:3:16:5\":{\"sum\":15,\"min\":1,\"max\":8,\"count\":4}}}",
            Text(await stats.Call(ApiMethod.Get, "", query: [("l", "m"), ("gs", "2016:3:16:5"), ("break", "1")])));
    }

    [Fact]
    public async Task The_key_defaults_to_the_caller_and_filters_queries()
    {
        await using var stats = new StatsFixture(Start);
        var admin = new Caller("elena", "elena:ops", CallerKind.Admin, []);
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":1}", query: ("l", "m"));
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":5}", admin, ("l", "m"));
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":7}", query: [("l", "m"), ("k", "lily")]);
        await stats.Recorder.FlushAsync();

        Assert.Contains("\"sum\":13,", Text(await stats.Call(ApiMethod.Get, "room1", query: ("l", "m"))));
        Assert.Contains("\"sum\":1,", Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("k", "elena")])));
        Assert.Contains("\"sum\":5,", Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("k", "elena:ops")])));
        Assert.Contains("\"sum\":7,", Text(await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("k", "lily")])));
        Assert.Contains("\"count\":0", Text(await stats.Call(ApiMethod.Get, "room1", query: ("l", "other"))));
        Assert.Contains("\"count\":0", Text(await stats.Call(ApiMethod.Get, "room1/sub", query: ("l", "m"))));
    }

    [Fact]
    public async Task Every_api_call_counts_in_api_3_per_service_and_method_keyed_by_caller()
    {
        await using var stats = new StatsFixture(Start);
        var lily = new Caller("elena#lily", "elena#lily", CallerKind.SubAccount, []);
        stats.Recorder.RecordCall("data", ApiMethod.Get, ApiCalls.Elena);
        stats.Recorder.RecordCall("data", ApiMethod.Get, ApiCalls.Elena);
        stats.Recorder.RecordCall("data", ApiMethod.Put, ApiCalls.Elena);
        stats.Recorder.RecordCall("data", ApiMethod.Get, lily);
        await stats.Recorder.FlushAsync();

        Assert.Contains("\"count\":2}", Text(await stats.Call(ApiMethod.Get, "data/GET", query: ("l", "api:3"))));
        Assert.Contains("\"count\":1}", Text(await stats.Call(ApiMethod.Get, "/data/PUT", query: ("l", "api:3"))));
        // Each bucket sees its own calls only.
        Assert.Contains("\"count\":1}", Text(await stats.Call(ApiMethod.Get, "data/GET", caller: lily, query: ("l", "api:3"))));
    }

    [Fact]
    public async Task Stats_cannot_be_deleted_or_replaced_and_bad_input_is_refused()
    {
        await using var stats = new StatsFixture(Start);
        Assert.Equal(ErrorCode.MethodNotAllowed, (await stats.Call(ApiMethod.Delete, "room1", query: ("l", "m"))).Error);
        Assert.Equal(ErrorCode.MethodNotAllowed, (await stats.Call(ApiMethod.Put, "room1", "{\"v\":1}", query: ("l", "m"))).Error);
        Assert.Equal(ErrorCode.BadParam, (await stats.Call(ApiMethod.Post, "room1", "{\"v\":1}")).Error);
        Assert.Equal(ErrorCode.Forbidden, (await stats.Call(ApiMethod.Post, "data/GET", "{\"v\":1}", query: ("l", "api:3"))).Error);
        Assert.Equal(ErrorCode.BadParam, (await stats.Call(ApiMethod.Post, "room1", "{\"v\":1}", query: ("l", "a|b"))).Error);
        Assert.Equal(ErrorCode.BadParam, (await stats.Call(ApiMethod.Post, "room1", "{\"v\":\"1\"}", query: ("l", "m"))).Error);
        Assert.Equal(ErrorCode.BadParam, (await stats.Call(ApiMethod.Post, "room1", "{\"k\":\"x\"}", query: ("l", "m"))).Error);
        Assert.Equal(ErrorCode.BadJson, (await stats.Call(ApiMethod.Post, "room1", "{\"v\":", query: ("l", "m"))).Error);
        Assert.Equal(ErrorCode.BadPath, (await stats.Call(ApiMethod.Post, "", "{\"v\":1}", query: ("l", "m"))).Error);
        Assert.Equal(ErrorCode.BadParam, (await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("gs", "2016:13")])).Error);
        Assert.Equal(ErrorCode.BadParam, (await stats.Call(ApiMethod.Get, "room1", query: [("l", "m"), ("gs", "2017"), ("ge", "2016")])).Error);
        await stats.Recorder.FlushAsync();
        Assert.Contains("\"count\":0", Text(await stats.Call(ApiMethod.Get, "room1", query: ("l", "m"))));
    }

    [Fact]
    public async Task Flushed_rollups_survive_a_restart()
    {
        await using var stats = new StatsFixture(Start);
        await stats.Call(ApiMethod.Post, "room1", "{\"v\":2.5}", query: ("l", "m"));
        await stats.Recorder.FlushAsync(); // what a graceful stop does
        await stats.ReopenAsync();
        Assert.Equal("{\"s\":\"ok\",\"v\":{\"sum\":2.5,\"min\":2.5,\"max\":2.5,\"count\":1}}",
            Text(await stats.Call(ApiMethod.Get, "room1", query: ("l", "m"))));
    }

    [Fact]
    public async Task A_flush_that_cannot_write_keeps_its_values_for_the_next_one()
    {
        var directory = Path.Combine(Path.GetTempPath(), "kv4-stats-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var accumulator = new StatsAccumulator();
            var clock = new ManualClock(Start);
            var closed = Kv4.Engine.Kv4Store.Open(new Kv4.Engine.StoreOptions { DataDirectory = directory });
            var recorder = new StatsRecorder(accumulator, new StatsRollupStore(new Kv4.Services.Storage.EngineStore(closed)), new StatsOptions(), clock);
            recorder.Record("elena", "room1", "m", "elena", 4);
            recorder.Record("elena", "room1", "m", "elena", 6);
            await closed.DisposeAsync();

            await Assert.ThrowsAnyAsync<Exception>(() => recorder.FlushAsync());
            Assert.Equal(1, accumulator.PendingCells);

            await using var reopened = Kv4.Engine.Kv4Store.Open(new Kv4.Engine.StoreOptions { DataDirectory = directory });
            var retry = new StatsRecorder(accumulator, new StatsRollupStore(new Kv4.Services.Storage.EngineStore(reopened)), new StatsOptions(), clock);
            await retry.FlushAsync();
            var groups = await retry.Rollups.QueryAsync("elena", "room1", "m", null, long.MinValue, long.MaxValue, 0);
            Assert.Equal(new Rollup(10, 4, 6, 2), Assert.Single(groups).Rollup);
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        }
    }

    [Fact]
    public void Rollup_entries_use_the_documented_layout()
    {
        var key = StatsSeries.Key("api:3", new DateTimeOffset(2016, 3, 16, 5, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), "elena");
        Assert.Equal("api:3|2016031605|elena", key);
        Assert.True(StatsSeries.TryParse(key, "api:3", out var hour, out var who));
        Assert.Equal("elena", who);
        Assert.Equal(new DateTimeOffset(2016, 3, 16, 5, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), hour);
        var json = StatsRollupStore.WriteMinutes(new SortedDictionary<int, Rollup> { [7] = new Rollup(3, 1, 2, 2) });
        Assert.Equal("{\"7\":[3,1,2,2]}", System.Text.Encoding.UTF8.GetString(json));
        Assert.Equal(new Rollup(3, 1, 2, 2), StatsRollupStore.ReadMinutes(json)[7]);
    }
}
