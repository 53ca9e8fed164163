using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>http-api.md §2 Request template row by row, through `_data` on a real store.</summary>
[Trait("Category", "Unit")]
public sealed class DataServiceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2016, 3, 16, 0, 0, 0, TimeSpan.Zero);
    private ServiceHarness _h = null!;
    private Caller _elena = null!;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync(Start);
        (_elena, _) = await _h.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private Task<Reply> Put(string path, string body) => _h.PutAsync(_elena, "data", path, body);

    private Task<Reply> Get(string path, string? query = null) => _h.GetAsync(_elena, "data", path, query);

    private async Task<string> PutVersion(string path, string body) => (await Put(path, body)).Ok().GetProperty("_ver_").GetString()!;

    [Fact]
    public async Task Put_answers_the_version_and_get_returns_the_value_with_it()
    {
        var ver = await PutVersion("my/data/path", """{"k":"mykey","v":{"color":"red","n":[1,2]}}""");
        var reply = await Get("my/data/path", "k=mykey");
        Assert.Equal($$$"""{"s":"ok","v":{"_ver_":"{{{ver}}}","color":"red","n":[1,2]}}""", reply.Text);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("[1,{\"a\":null}]")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("{}")]
    public async Task Every_json_kind_round_trips(string value)
    {
        var ver = await PutVersion("kinds", $$$"""{"k":"x","v":{{{value}}}}""");
        var expected = value == "{}" ? $$"""{"_ver_":"{{ver}}"}""" : value;
        Assert.Equal($$$"""{"s":"ok","v":{{{expected}}}}""", (await Get("kinds", "k=x")).Text);
    }

    [Fact]
    public async Task Values_are_stored_compact_and_lose_a_copied_version()
    {
        var first = await PutVersion("p", """{"k":"a","v":{ "x" : 1 }}""");
        await PutVersion("p", $$$"""{"k":"a","v":{"_ver_":"{{{first}}}", "x" : 2 }}""");
        var value = (await Get("p", "k=a")).Ok();
        Assert.Equal(2, value.GetProperty("x").GetInt32());
        Assert.NotEqual(first, value.GetProperty("_ver_").GetString());
        Assert.Equal(2, value.EnumerateObject().Count());
    }

    [Fact]
    public async Task Secondary_keys_find_the_entry()
    {
        await Put("people", """{"k":"u1","v":{"n":"Ann"},"k2":"ann@example.com","k3":"A","k4":"001"}""");
        await Put("people", """{"k":"u2","v":{"n":"Bob"},"k2":"bob@example.com"}""");
        Assert.Equal("Ann", (await Get("people", "k2=ann@example.com")).Ok().GetProperty("n").GetString());
        Assert.Equal("Ann", (await Get("people", "k3=A")).Ok().GetProperty("n").GetString());
        Assert.Equal("Ann", (await Get("people", "k4=001")).Ok().GetProperty("n").GetString());
        Assert.Equal("Bob", (await Get("people", "k2=bob@example.com")).Ok().GetProperty("n").GetString());
        (await Get("people", "k2=nobody@example.com")).Is("not_found");
    }

    [Fact]
    public async Task A_taken_secondary_key_is_refused_and_nothing_is_written()
    {
        await Put("people", """{"k":"u1","v":1,"k2":"same"}""");
        (await Put("people", """{"k":"u2","v":2,"k2":"same"}""")).Is("exists");
        (await Get("people", "k=u2")).Is("not_found");
    }

    [Fact]
    public async Task Listing_gives_the_keys_at_exactly_the_path_sorted()
    {
        await Put("a", """{"k":"zeta","v":1}""");
        await Put("a", """{"k":"alpha","v":1}""");
        await Put("a/b", """{"k":"below","v":1}""");
        await Put("", """{"k":"root","v":1}""");
        Assert.Equal(["alpha", "zeta"], (await Get("a")).Strings());
        Assert.Equal(["root"], (await Get("")).Strings());
        Assert.Empty((await Get("nothing/here")).Strings());
    }

    [Fact]
    public async Task Compare_and_set_accepts_the_current_version_inside_or_beside_v()
    {
        var v1 = await PutVersion("cas", """{"k":"a","v":{"n":1}}""");
        var v2 = (await _h.PostAsync(_elena, "data", "cas", $$$"""{"k":"a","v":{"n":2,"_ver_":"{{{v1}}}"}}""")).Ok().GetProperty("_ver_").GetString()!;
        var v3 = (await _h.PostAsync(_elena, "data", "cas", $$"""{"k":"a","v":{"n":3},"_ver_":"{{v2}}"}""")).Ok().GetProperty("_ver_").GetString();
        var value = (await Get("cas", "k=a")).Ok();
        Assert.Equal(3, value.GetProperty("n").GetInt32());
        Assert.Equal(v3, value.GetProperty("_ver_").GetString());
    }

    [Fact]
    public async Task Post_creates_an_absent_key_and_needs_a_version_for_an_existing_one_on_every_generic_layer()
    {
        foreach (var layer in new[] { "data", "cfg" })
        {
            // The Xirsys v3 "Create" is a POST: a key that does not exist is created, as PUT would.
            var created = (await _h.PostAsync(_elena, layer, "my/path", """{"k":"mykey","v":"myvalue","k2":"second"}""")).Ok();
            Assert.False(string.IsNullOrEmpty(created.GetProperty("_ver_").GetString()));
            Assert.Equal("myvalue", (await _h.GetAsync(_elena, layer, "my/path", "k2=second")).Ok().GetString());
            // Once it exists, a POST is an update and needs the version it read.
            (await _h.PostAsync(_elena, layer, "my/path", """{"k":"mykey","v":"other"}""")).Is("_ver_missing");
            Assert.Equal("myvalue", (await _h.GetAsync(_elena, layer, "my/path", "k=mykey")).Ok().GetString());
            Assert.Equal(1, (await _h.GetAsync(_elena, layer, "my/path", "time_series=1&k=mykey")).Ok().GetArrayLength());
            // Deleted, it is absent again: POST creates it anew.
            await _h.DeleteAsync(_elena, layer, "my/path", "k=mykey");
            (await _h.PostAsync(_elena, layer, "my/path", """{"k":"mykey","v":"again"}""")).Ok();
            Assert.Equal("again", (await _h.GetAsync(_elena, layer, "my/path", "k=mykey")).Ok().GetString());
        }
    }

    [Fact]
    public async Task Of_concurrent_posts_creating_one_key_exactly_one_creates()
    {
        var replies = await Task.WhenAll(Enumerable.Range(1, 8).Select(i =>
            Task.Run(async () => await _h.PostAsync(_elena, "data", "race", $$"""{"k":"new","v":{{i}}}"""))));
        Assert.Single(replies, r => r.Text.StartsWith("""{"s":"ok""", StringComparison.Ordinal));
        Assert.All(replies.Where(r => !r.Text.StartsWith("""{"s":"ok""", StringComparison.Ordinal)), r => r.Is("_ver_missing"));
        Assert.Equal(1, (await Get("race", "time_series=1&k=new")).Ok().GetArrayLength());
    }

    [Fact]
    public async Task Compare_and_set_refusals_write_nothing()
    {
        var v1 = await PutVersion("cas", """{"k":"a","v":{"n":1}}""");
        await _h.PostAsync(_elena, "data", "cas", $$"""{"k":"a","v":{"n":2},"_ver_":"{{v1}}"}""");

        (await _h.PostAsync(_elena, "data", "cas", """{"k":"a","v":{"n":9}}""")).Is("_ver_missing");
        (await _h.PostAsync(_elena, "data", "cas", $$"""{"k":"a","v":{"n":9},"_ver_":"{{v1}}"}""")).Is("version_conflict");
        (await _h.PostAsync(_elena, "data", "cas", """{"k":"a","v":{"n":9},"_ver_":"not-a-version"}""")).Is("version_conflict");
        (await _h.PostAsync(_elena, "data", "cas", $$"""{"k":"absent","v":{"n":9},"_ver_":"{{v1}}"}""")).Is("not_found");
        (await _h.PostAsync(_elena, "data", "cas", """{"k":"absent","v":{"n":9},"_ver_":"x"}""")).Is("not_found");
        (await _h.PostAsync(_elena, "data", "cas", $$"""{"k":"a","v":{"n":9,"_ver_":"{{v1}}"},"_ver_":"1"}""")).Is("bad_param");

        Assert.Equal(2, (await Get("cas", "k=a")).Ok().GetProperty("n").GetInt32());
        Assert.Equal(2, (await Get("cas", "time_series=1&k=a")).Ok().GetArrayLength());
        (await Get("cas", "k=absent")).Is("not_found");
    }

    [Fact]
    public async Task Of_concurrent_updates_from_one_version_exactly_one_wins()
    {
        var v1 = await PutVersion("cas", """{"k":"a","v":0}""");
        var replies = await Task.WhenAll(Enumerable.Range(1, 8).Select(i =>
            _h.PostAsync(_elena, "data", "cas", $$"""{"k":"a","v":{{i}},"_ver_":"{{v1}}"}""")));
        Assert.Single(replies, r => r.IsOk);
        Assert.All(replies.Where(r => !r.IsOk), r => r.Is("version_conflict"));
        Assert.Equal(2, (await Get("cas", "time_series=1&k=a")).Ok().GetArrayLength());
    }

    [Fact]
    public async Task Compare_and_set_on_a_deleted_key_is_not_found()
    {
        var v1 = await PutVersion("cas", """{"k":"a","v":1}""");
        (await _h.DeleteAsync(_elena, "data", "cas", "k=a")).Ok();
        (await _h.PostAsync(_elena, "data", "cas", $$"""{"k":"a","v":2,"_ver_":"{{v1}}"}""")).Is("not_found");
    }

    [Fact]
    public async Task An_update_keeps_secondary_keys_it_does_not_mention()
    {
        var v1 = await PutVersion("people", """{"k":"u1","v":{"n":1},"k2":"ann"}""");
        var v2 = (await _h.PostAsync(_elena, "data", "people", $$"""{"k":"u1","v":{"n":2},"_ver_":"{{v1}}"}""")).Ok().GetProperty("_ver_").GetString();
        Assert.Equal(2, (await Get("people", "k2=ann")).Ok().GetProperty("n").GetInt32());
        await _h.PostAsync(_elena, "data", "people", $$"""{"k":"u1","v":{"n":3},"_ver_":"{{v2}}","k2":"anna"}""");
        (await Get("people", "k2=ann")).Is("not_found");
        Assert.Equal(3, (await Get("people", "k2=anna")).Ok().GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task Time_series_is_newest_first_with_deletes_as_null()
    {
        await Put("ts", """{"k":"a","v":"v1"}""");
        _h.Clock.Advance(TimeSpan.FromSeconds(12));
        await Put("ts", """{"k":"a","v":{"x":2}}""");
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        (await _h.DeleteAsync(_elena, "data", "ts", "k=a")).Ok();

        var start = Start.ToUnixTimeSeconds();
        Assert.Equal(
            $$"""{"s":"ok","v":[[{{start + 13}},"elena",null],[{{start + 12}},"elena",{"x":2}],[{{start}},"elena","v1"]]}""",
            (await Get("ts", "time_series=1&k=a")).Text);
        (await Get("ts", "k=a")).Is("not_found");
        Assert.Empty((await Get("ts")).Strings());
    }

    [Fact]
    public async Task Full_format_carries_time_actor_op_value_and_version()
    {
        var v1 = await PutVersion("ts", """{"k":"a","v":{"x":1}}""");
        _h.Clock.Advance(TimeSpan.FromMilliseconds(1500));
        (await _h.DeleteAsync(_elena, "data", "ts", "k=a")).Ok();
        var rows = (await Get("ts", "time_series=1&k=a&format=full")).Ok().EnumerateArray().ToArray();
        Assert.Equal(2, rows.Length);
        var t0 = Start.ToUnixTimeMilliseconds();
        Assert.Equal(t0 + 1500, rows[0].GetProperty("t").GetInt64());
        Assert.Equal("delete", rows[0].GetProperty("op").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, rows[0].GetProperty("v").ValueKind);
        Assert.Equal(t0, rows[1].GetProperty("t").GetInt64());
        Assert.Equal("elena", rows[1].GetProperty("by").GetString());
        Assert.Equal("put", rows[1].GetProperty("op").GetString());
        Assert.Equal(1, rows[1].GetProperty("v").GetProperty("x").GetInt32());
        Assert.Equal(v1, rows[1].GetProperty("_ver_").GetString());
        Assert.False(rows[1].TryGetProperty("k", out _));
    }

    [Fact]
    public async Task Time_series_without_a_key_merges_every_key_of_the_path()
    {
        await Put("ts", """{"k":"a","v":1}""");
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        await Put("ts", """{"k":"b","v":2}""");
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        await Put("ts/below", """{"k":"c","v":3}""");
        var triples = (await Get("ts", "time_series=1")).Ok().EnumerateArray().Select(t => t[2].GetInt32()).ToArray();
        Assert.Equal(new[] { 2, 1 }, triples);
        var full = (await Get("ts", "time_series=1&format=full")).Ok().EnumerateArray().Select(t => t.GetProperty("k").GetString()!).ToArray();
        Assert.Equal(new[] { "b", "a" }, full);
    }

    [Fact]
    public async Task Gs_and_ge_bound_the_series_by_calendar_groups()
    {
        // 02:59:59, 03:00:00, 06:59:59, 07:00:00 on 2016-03-16 UTC (the harness started at midnight)
        var day = Start;
        foreach (var (at, v) in new[] { (new TimeSpan(2, 59, 59), 1), (new TimeSpan(3, 0, 0), 2), (new TimeSpan(6, 59, 59), 3), (new TimeSpan(7, 0, 0), 4) })
        {
            _h.Clock.Set(day + at);
            await Put("ts", $$$"""{"k":"a","v":{{{v}}}}""");
        }
        int[] Values(Reply r) => r.Ok().EnumerateArray().Select(t => t[2].GetInt32()).ToArray();
        Assert.Equal(new[] { 3, 2 }, Values(await Get("ts", "time_series=1&k=a&gs=2016:3:16:3&ge=2016:3:16:6")));
        Assert.Equal(new[] { 4, 3, 2 }, Values(await Get("ts", "time_series=1&k=a&gs=2016:3:16:3")));
        Assert.Equal(new[] { 1 }, Values(await Get("ts", "time_series=1&k=a&ge=2016:3:16:2")));
        Assert.Equal(new[] { 4, 3, 2, 1 }, Values(await Get("ts", "time_series=1&gs=2016&ge=2016:3")));
        Assert.Equal(new[] { 2 }, Values(await Get("ts", "time_series=1&k=a&gs=2016:3:16:3:0:0&ge=2016:3:16:3:0:0")));
        Assert.Empty(Values(await Get("ts", "time_series=1&k=a&gs=2017")));
        Assert.Equal(new[] { 4 }, Values(await Get("ts", "time_series=1&k=a&limit=1")));
    }

    [Theory]
    [InlineData("time_series=1&gs=2016:13")]
    [InlineData("time_series=1&ge=x")]
    [InlineData("time_series=1&gs=2016:3:17&ge=2016:3:16")]
    [InlineData("time_series=1&format=short")]
    [InlineData("time_series=1&limit=0")]
    [InlineData("time_series=1&limit=abc")]
    [InlineData("k=a&k2=b")]
    [InlineData("k2=a&k3=b")]
    public async Task Bad_parameters_are_bad_param(string query) => (await Get("ts", query)).Is("bad_param");

    [Fact]
    public async Task Deleting_a_key_answers_one_then_zero()
    {
        await Put("d", """{"k":"a","v":1}""");
        Assert.Equal(1, (await _h.DeleteAsync(_elena, "data", "d", "k=a")).Ok().GetInt32());
        Assert.Equal(0, (await _h.DeleteAsync(_elena, "data", "d", "k=a")).Ok().GetInt32());
        Assert.Equal(0, (await _h.DeleteAsync(_elena, "data", "d", "k=never")).Ok().GetInt32());
    }

    [Fact]
    public async Task Deleting_a_path_removes_it_and_everything_below()
    {
        await Put("tree", """{"k":"a","v":1}""");
        await Put("tree", """{"k":"b","v":1}""");
        await Put("tree/x/y", """{"k":"c","v":1}""");
        await Put("treetop", """{"k":"d","v":1}""");
        await Put("other", """{"k":"e","v":1}""");
        Assert.Equal(3, (await _h.DeleteAsync(_elena, "data", "tree")).Ok().GetInt32());
        Assert.Empty((await Get("tree")).Strings());
        Assert.Empty((await Get("tree/x/y")).Strings());
        Assert.Equal(["d"], (await Get("treetop")).Strings());
        Assert.Equal(2, (await _h.DeleteAsync(_elena, "data", "")).Ok().GetInt32());
        Assert.Empty((await Get("other")).Strings());
        Assert.Equal(0, (await _h.DeleteAsync(_elena, "data", "")).Ok().GetInt32());
    }

    [Theory]
    [InlineData("", "bad_json")]
    [InlineData("not json", "bad_json")]
    [InlineData("""{"k":"a","v":1""", "bad_json")]
    [InlineData("""[{"k":"a","v":1}]""", "bad_json")]
    [InlineData("""{"k":"a","v":1,"k":"b"}""", "bad_json")]
    [InlineData("""{"v":1}""", "bad_key")]
    [InlineData("""{"k":"","v":1}""", "bad_key")]
    [InlineData("""{"k":7,"v":1}""", "bad_key")]
    [InlineData("""{"k":"a","v":1,"k2":""}""", "bad_key")]
    [InlineData("""{"k":"a"}""", "bad_param")]
    [InlineData("""{"k":"a","v":1,"_ver_":[1]}""", "bad_param")]
    public async Task Bad_bodies_write_nothing(string body, string code)
    {
        (await Put("bad", body)).Is(code);
        (await _h.PostAsync(_elena, "data", "bad", body)).Is(code);
        Assert.Empty((await Get("bad")).Strings());
        Assert.DoesNotContain(_h.Store.ListLayers("elena"), l => l.Layer == "data");
    }

    [Fact]
    public async Task Oversized_values_are_value_too_large()
    {
        var big = new string('x', Kv4.Engine.Rules.JsonValueRules.DefaultMaxValueBytes + 10);
        (await Put("big", $$"""{"k":"a","v":"{{big}}"}""")).Is("value_too_large");
        (await Get("big", "k=a")).Is("not_found");
    }

    [Fact]
    public async Task Bad_keys_in_the_query_are_bad_key()
    {
        (await Get("p", "k=")).Is("bad_key");
        (await Get("p", "k2=")).Is("bad_key");
        (await _h.DeleteAsync(_elena, "data", "p", "k=")).Is("bad_key");
        (await Get("p", "time_series=1&k=")).Is("bad_key");
    }

    [Fact]
    public async Task Unsupported_methods_are_refused()
    {
        var reply = await _h.CallAsync(_elena, (ApiMethod)99, "data", "p");
        reply.Is("method_not_allowed");
    }
}
