using System.Net;
using System.Text.Json;

namespace Kv4.Tests.Server;

/// <summary>http-api.md §2 Request template over HTTP with the real services and engine: every request row, CAS codes, time series, deletes.</summary>
[Trait("Category", "Integration")]
public sealed class DataApiTests(RealServerFixture fixture) : IClassFixture<RealServerFixture>
{
    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Put_get_list_and_secondary_key_lookup()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("crud") + "/sub";
        var put = (await client.PutReplyAsync(path, "{\"k\":\"mykey\",\"v\":{\"color\":\"red\",\"n\":[1,2]},\"k2\":\"red-one\"}")).IsOk();
        var version = put.V.GetProperty("_ver_").GetString()!;
        Assert.False(string.IsNullOrEmpty(version));

        var got = (await client.GetReplyAsync(path + "?k=mykey")).IsOk();
        Assert.Equal($"{{\"s\":\"ok\",\"v\":{{\"_ver_\":\"{version}\",\"color\":\"red\",\"n\":[1,2]}}}}", got.Body);
        Assert.Equal(got.Body, (await client.GetReplyAsync(path + "?k2=red-one")).IsOk().Body);

        (await client.PutReplyAsync(path, "{\"k\":\"count\",\"v\":42}")).IsOk();
        Assert.Equal("{\"s\":\"ok\",\"v\":42}", (await client.GetReplyAsync(path + "?k=count")).Body);
        (await client.PutReplyAsync(path, "{\"k\":\"text\",\"v\":\"héllo \\\"q\\\"\"}")).IsOk();
        Assert.Equal("héllo \"q\"", (await client.GetReplyAsync(path + "?k=text")).IsOk().V.GetString());

        var keys = (await client.GetReplyAsync(path)).IsOk().V.EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(["count", "mykey", "text"], keys);
        (await client.GetReplyAsync(path + "?k=absent")).IsError("not_found", HttpStatusCode.NotFound);
        (await client.GetReplyAsync(path + "?k2=absent")).IsError("not_found", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Post_is_compare_and_set_with_every_code()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("cas");
        var v1 = (await client.PutReplyAsync(path, "{\"k\":\"doc\",\"v\":{\"n\":1}}")).IsOk().V.GetProperty("_ver_").GetString();

        // _ver_ inside v.
        var v2 = (await client.PostReplyAsync(path, $"{{\"k\":\"doc\",\"v\":{{\"n\":2,\"_ver_\":\"{v1}\"}}}}")).IsOk().V.GetProperty("_ver_").GetString();
        Assert.NotEqual(v1, v2);
        // _ver_ beside v.
        var v3 = (await client.PostReplyAsync(path, $"{{\"k\":\"doc\",\"v\":{{\"n\":3}},\"_ver_\":\"{v2}\"}}")).IsOk().V.GetProperty("_ver_").GetString();

        await fixture.Server.AssertNothingWrittenAsync(async () =>
        {
            (await client.PostReplyAsync(path, $"{{\"k\":\"doc\",\"v\":{{\"n\":9}},\"_ver_\":\"{v1}\"}}")).IsError("version_conflict", HttpStatusCode.Conflict);
            (await client.PostReplyAsync(path, "{\"k\":\"doc\",\"v\":{\"n\":9}}")).IsError("_ver_missing", HttpStatusCode.BadRequest);
            (await client.PostReplyAsync(path, $"{{\"k\":\"nokey\",\"v\":1,\"_ver_\":\"{v3}\"}}")).IsError("not_found", HttpStatusCode.NotFound);
        });
        var now = (await client.GetReplyAsync(path + "?k=doc")).IsOk();
        Assert.Equal(3, now.V.GetProperty("n").GetInt32());
        Assert.Equal(v3, now.V.GetProperty("_ver_").GetString());
    }

    [Fact]
    public async Task Time_series_newest_first_with_deletes_full_format_and_groups()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("ts");
        (await client.PutReplyAsync(path, "{\"k\":\"a\",\"v\":\"v1\"}")).IsOk();
        (await client.PutReplyAsync(path, "{\"k\":\"a\",\"v\":{\"x\":2}}")).IsOk();
        (await client.PutReplyAsync(path, "{\"k\":\"b\",\"v\":7}")).IsOk();
        Assert.Equal("{\"s\":\"ok\",\"v\":1}", (await client.DeleteReplyAsync(path + "?k=a")).Body);
        Assert.Equal("{\"s\":\"ok\",\"v\":0}", (await client.DeleteReplyAsync(path + "?k=a")).Body);

        var series = (await client.GetReplyAsync(path + "?time_series=1&k=a")).IsOk().V.EnumerateArray().ToArray();
        Assert.Equal(3, series.Length);
        Assert.Equal(JsonValueKind.Null, series[0][2].ValueKind);
        Assert.Equal(2, series[1][2].GetProperty("x").GetInt32());
        Assert.Equal("v1", series[2][2].GetString());
        foreach (var entry in series)
        {
            Assert.Equal("elena", entry[1].GetString());
            var seconds = entry[0].GetInt64();
            Assert.InRange(seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600);
        }
        (await client.GetReplyAsync(path + "?k=a")).IsError("not_found", HttpStatusCode.NotFound);

        var full = (await client.GetReplyAsync(path + "?time_series=1&k=a&format=full")).IsOk().V.EnumerateArray().ToArray();
        Assert.Equal(["delete", "put", "put"], full.Select(e => e.GetProperty("op").GetString()));
        Assert.All(full, e => Assert.Equal("elena", e.GetProperty("by").GetString()));
        Assert.All(full, e => Assert.True(e.GetProperty("t").GetInt64() > 1_600_000_000_000));
        Assert.All(full, e => Assert.False(string.IsNullOrEmpty(e.GetProperty("_ver_").GetString())));

        // Without k: every key at the path, newest first.
        var all = (await client.GetReplyAsync(path + "?time_series=1")).IsOk().V.EnumerateArray().ToArray();
        Assert.Equal(4, all.Length);

        // gs/ge by UTC calendar prefix: this hour contains everything, 2016 nothing.
        var now = DateTime.UtcNow;
        var thisYear = (await client.GetReplyAsync($"{path}?time_series=1&k=a&gs={now.Year - 1}&ge={now.Year + 1}")).IsOk();
        Assert.Equal(3, thisYear.V.GetArrayLength());
        Assert.Equal(0, (await client.GetReplyAsync(path + "?time_series=1&k=a&gs=2016:3:16:3&ge=2016:3:16:6")).IsOk().V.GetArrayLength());
        (await client.GetReplyAsync(path + "?time_series=1&gs=2016:13")).IsError("bad_param", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Delete_path_removes_everything_at_and_below_and_counts()
    {
        using var client = fixture.Elena();
        var root = "/_data/" + Unique("tree");
        (await client.PutReplyAsync(root + "/a", "{\"k\":\"1\",\"v\":1}")).IsOk();
        (await client.PutReplyAsync(root + "/a", "{\"k\":\"2\",\"v\":2}")).IsOk();
        (await client.PutReplyAsync(root + "/a/b", "{\"k\":\"3\",\"v\":3}")).IsOk();
        (await client.PutReplyAsync(root + "/ab", "{\"k\":\"4\",\"v\":4}")).IsOk();
        Assert.Equal("{\"s\":\"ok\",\"v\":3}", (await client.DeleteReplyAsync(root + "/a")).Body);
        Assert.Equal(0, (await client.GetReplyAsync(root + "/a")).IsOk().V.GetArrayLength());
        Assert.Equal(4, (await client.GetReplyAsync(root + "/ab?k=4")).IsOk().V.GetInt32());
        // Deleted entries keep their history.
        Assert.Equal(2, (await client.GetReplyAsync(root + "/a/b?time_series=1&k=3")).IsOk().V.GetArrayLength());
    }

    [Fact]
    public async Task Namespace_root_forms_and_depth()
    {
        using var client = fixture.Server.Client("bob", fixture.Tenants.BobSecret);
        var top = Unique("ns");
        (await client.PutReplyAsync($"/_ns/{top}/b/c")).IsOk();
        (await client.PutReplyAsync($"/_ns/{top}")).IsOk();
        foreach (var root in new[] { "/_ns", "/_ns/", "/_ns?depth=5", "/_ns/?depth=5" })
        {
            var nodes = (await client.GetReplyAsync(root)).IsOk().V.EnumerateArray().Select(e => e.GetString()!).ToArray();
            Assert.Contains($"{top}/b/c", nodes);
            Assert.Contains(top, nodes);
        }
        var shallow = (await client.GetReplyAsync($"/_ns/{top}?depth=1")).IsOk().V.EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal([top], shallow);
        Assert.Equal("{\"s\":\"ok\",\"v\":2}", (await client.DeleteReplyAsync($"/_ns/{top}")).Body);
    }

    [Fact]
    public async Task Discovery_lists_layers_and_paths_of_the_callers_bucket()
    {
        using var client = fixture.Server.Client("elena#max", fixture.Tenants.MaxSecret);
        (await client.PutReplyAsync("/_data/ds/one", "{\"k\":\"a\",\"v\":1}")).IsOk();
        var layers = (await client.GetReplyAsync("/_ds")).IsOk();
        Assert.True(layers.V.GetProperty("data").GetInt64() >= 1);
        var paths = (await client.GetReplyAsync("/_ds?l=data")).IsOk().V.EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Contains("ds/one", paths);
    }

    [Fact]
    public async Task Health_metrics_and_openapi_with_the_real_engine()
    {
        using var client = fixture.Elena();
        (await client.PutReplyAsync("/_data/" + Unique("m"), "{\"k\":\"a\",\"v\":1}")).IsOk();
        Assert.Equal("{\"s\":\"ok\",\"v\":\"ready\"}", await client.GetStringAsync("/readyz"));
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("kv4_api_requests_total{service=\"data\",method=\"PUT\",status=\"200\"}", metrics);
        var sequence = metrics.Split('\n').Single(l => l.StartsWith("kv4_engine_appended_records ", StringComparison.Ordinal));
        Assert.True(double.Parse(sequence.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Matches("kv4_engine_data_bytes [1-9]", metrics);
        // The test server runs sync durability: the PUT above was acknowledged after a commit the engine timed.
        Assert.Matches("kv4_engine_commit_seconds_count [1-9]", metrics);
        var openApi = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;
        var tags = openApi.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToArray();
        foreach (var service in new[] { "_data", "_ns", "_acc", "_auth", "_ds" }) Assert.Contains(service, tags);
    }
}
