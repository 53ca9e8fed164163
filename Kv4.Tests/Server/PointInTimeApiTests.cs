using System.Net;
using System.Text.Json;

namespace Kv4.Tests.Server;

/// <summary>`?at=` (http-api.md §10) over HTTP with the real services and engine: a key, a key listing and the `_ns` tree as of an instant, and bad instants.</summary>
[Trait("Category", "Integration")]
public sealed class PointInTimeApiTests(RealServerFixture fixture) : IClassFixture<RealServerFixture>
{
    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// The instant just after a write was answered, once the clock has moved past it: the write is stamped at or before
    /// it (server and test share the clock), and the next write after it.
    /// </summary>
    private static async Task<long> InstantAfterAsync()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() <= now) await Task.Delay(1);
        return now;
    }

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");

    private static string[] Strings(Reply reply) => [.. reply.IsOk().V.EnumerateArray().Select(e => e.GetString()!)];

    [Fact]
    public async Task A_key_reads_as_it_was_at_each_instant()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("at");
        var before = await InstantAfterAsync();
        var v1 = (await client.PutReplyAsync(path, "{\"k\":\"doc\",\"v\":{\"n\":1}}")).IsOk().V.GetProperty("_ver_").GetString();
        var t1 = await InstantAfterAsync();
        (await client.PutReplyAsync(path, "{\"k\":\"doc\",\"v\":{\"n\":2}}")).IsOk();
        var t2 = await InstantAfterAsync();
        (await client.DeleteReplyAsync(path + "?k=doc")).IsOk();
        var t3 = await InstantAfterAsync();
        (await client.PutReplyAsync(path, "{\"k\":\"doc\",\"v\":{\"n\":3}}")).IsOk();

        (await client.GetReplyAsync($"{path}?k=doc&at={before}")).IsError("not_found", HttpStatusCode.NotFound);
        Assert.Equal($"{{\"s\":\"ok\",\"v\":{{\"_ver_\":\"{v1}\",\"n\":1}}}}", (await client.GetReplyAsync($"{path}?k=doc&at={t1}")).IsOk().Body);
        Assert.Equal(2, (await client.GetReplyAsync($"{path}?k=doc&at={t2}")).IsOk().V.GetProperty("n").GetInt32());
        (await client.GetReplyAsync($"{path}?k=doc&at={t3}")).IsError("not_found", HttpStatusCode.NotFound);
        Assert.Equal(3, (await client.GetReplyAsync($"{path}?k=doc&at={await InstantAfterAsync()}")).IsOk().V.GetProperty("n").GetInt32());
        // The same instant written in ISO 8601 reads the same.
        Assert.Equal(1, (await client.GetReplyAsync($"{path}?k=doc&at={Iso(t1)}")).IsOk().V.GetProperty("n").GetInt32());
        Assert.Equal(3, (await client.GetReplyAsync($"{path}?k=doc")).IsOk().V.GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_key_listing_reads_as_it_was_and_pages_within_that_instant()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("atlist");
        (await client.PutReplyAsync(path, "{\"k\":\"a\",\"v\":1}")).IsOk();
        (await client.PutReplyAsync(path, "{\"k\":\"b\",\"v\":1}")).IsOk();
        var t1 = await InstantAfterAsync();
        (await client.DeleteReplyAsync(path + "?k=a")).IsOk();
        (await client.PutReplyAsync(path, "{\"k\":\"c\",\"v\":1}")).IsOk();

        Assert.Equal(["a", "b"], Strings(await client.GetReplyAsync($"{path}?at={t1}")));
        Assert.Equal(["b", "c"], Strings(await client.GetReplyAsync(path)));

        var first = (await client.GetReplyAsync($"{path}?at={t1}&limit=1")).IsOk();
        Assert.Equal(["a"], Strings(first));
        var cursor = Uri.EscapeDataString(first.Json.GetProperty("next").GetString()!);
        Assert.Equal(["b"], Strings(await client.GetReplyAsync($"{path}?at={t1}&limit=1&cursor={cursor}")));
        // A cursor belongs to its instant: on the listing of now, or of another instant, it is refused.
        (await client.GetReplyAsync($"{path}?limit=1&cursor={cursor}")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await client.GetReplyAsync($"{path}?at={t1 + 1}&limit=1&cursor={cursor}")).IsError("bad_param", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_namespace_tree_reads_as_it_was()
    {
        using var client = fixture.Elena();
        var root = Unique("atns");
        (await client.PutReplyAsync($"/_ns/{root}/a", "")).IsOk();
        (await client.PutReplyAsync($"/_ns/{root}/a/b", "")).IsOk();
        var t1 = await InstantAfterAsync();
        (await client.DeleteReplyAsync($"/_ns/{root}/a/b")).IsOk();
        (await client.PutReplyAsync($"/_ns/{root}/c", "")).IsOk();

        Assert.Equal([$"{root}/a", $"{root}/a/b"], Strings(await client.GetReplyAsync($"/_ns/{root}?at={t1}")));
        Assert.Equal([$"{root}/a"], Strings(await client.GetReplyAsync($"/_ns/{root}?at={t1}&depth=1")));
        Assert.Equal([$"{root}/a", $"{root}/c"], Strings(await client.GetReplyAsync($"/_ns/{root}")));
    }

    [Theory]
    [InlineData("at=yesterday")]
    [InlineData("at=")]
    [InlineData("at=-5")]
    [InlineData("at=1764700800000.5")]
    [InlineData("at=2025-13-01")]
    [InlineData("at=99999999999999999999")]
    [InlineData("at=2025-12-02T18:40:00Z&time_series=1")]
    [InlineData("at=1764700800000&k2=x")]
    public async Task A_bad_instant_is_bad_param(string query)
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("atbad");
        (await client.PutReplyAsync(path, "{\"k\":\"doc\",\"v\":1,\"k2\":\"x\"}")).IsOk();
        (await client.GetReplyAsync($"{path}?k=doc&{query}")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await client.GetReplyAsync($"{path}?{query}")).IsError("bad_param", HttpStatusCode.BadRequest);
        // `_ns` has no secondary keys to refuse.
        if (!query.Contains("k2", StringComparison.Ordinal))
            (await client.GetReplyAsync($"/_ns/{Unique("n")}?{query}")).IsError("bad_param", HttpStatusCode.BadRequest);
    }
}
