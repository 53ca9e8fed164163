using System.Net;
using System.Text.Json;

namespace Kv4.Tests.Server;

/// <summary>A server whose replies carry at most 64 KiB (Kv4:Api:MaxReplyBytes), with the usual tenants.</summary>
[Trait("Category", "Integration")]
public sealed class SmallReplyServerFixture : IAsyncLifetime
{
    public const int Budget = 64 * 1024;

    public Kv4TestServer Server { get; private set; } = null!;

    public Tenants Tenants { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await Kv4TestServer.StartAsync([$"--Kv4:Api:MaxReplyBytes={Budget}"]);
        Tenants = await Tenants.CreateAsync(Server);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public HttpClient Elena() => Server.Client("elena", Tenants.ElenaSecret);

    public HttpClient Bob() => Server.Client("bob", Tenants.BobSecret);
}

/// <summary>
/// History and listings page over real HTTP: a reply stops before the version that would pass the byte budget
/// and offers `next`; following the cursors yields every version once, in order; a cursor that this listing did
/// not hand out (garbled, another key's, another tenant's) is bad_param.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PagingTests(SmallReplyServerFixture fixture) : IClassFixture<SmallReplyServerFixture>
{
    // About 10 KiB a version: a 64 KiB reply holds six of them.
    private static readonly string Filler = new('x', 10_000);

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Follows `next` from <paramref name="first"/> to the end; every page is checked against the budget.</summary>
    private static async Task<List<List<JsonElement>>> PagesAsync(HttpClient client, string first)
    {
        var pages = new List<List<JsonElement>>();
        var uri = first;
        while (true)
        {
            var reply = (await client.GetReplyAsync(uri)).IsOk();
            Assert.Equal(JsonValueKind.Array, reply.V.ValueKind);
            var items = reply.V.EnumerateArray().Select(e => e.Clone()).ToList();
            Assert.NotEmpty(items);
            pages.Add(items);
            // The value stays within the budget; the envelope and the cursor add a few dozen bytes.
            Assert.True(reply.Body.Length <= SmallReplyServerFixture.Budget + 200, $"a page of {reply.Body.Length} bytes");
            if (!reply.Json.TryGetProperty("next", out var next)) return pages;
            uri = first + "&cursor=" + Uri.EscapeDataString(next.GetString()!);
            Assert.True(pages.Count < 1000, "paging ends");
        }
    }

    [Fact]
    public async Task A_key_history_stops_at_the_byte_budget_and_its_cursors_yield_every_version_once_in_order()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("hist");
        var versions = new List<string>();
        for (var i = 0; i < 20; i++)
            versions.Add((await client.PutReplyAsync(path, $"{{\"k\":\"h\",\"v\":{{\"i\":{i},\"pad\":\"{Filler}\"}}}}")).IsOk()
                .V.GetProperty("_ver_").GetString()!);
        versions.Reverse();

        var pages = await PagesAsync(client, path + "?time_series=1&k=h&format=full");
        Assert.True(pages.Count >= 4, $"{pages.Count} pages");
        Assert.Equal(versions, pages.SelectMany(p => p).Select(e => e.GetProperty("_ver_").GetString()!));

        // The triples page the same way.
        var triples = await PagesAsync(client, path + "?time_series=1&k=h");
        Assert.Equal(Enumerable.Range(0, 20).Reverse(), triples.SelectMany(p => p).Select(e => e[2].GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task A_path_history_pages_across_keys_newest_first()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("phist");
        var versions = new List<string>();
        for (var i = 0; i < 15; i++)
            versions.Add((await client.PutReplyAsync(path, $"{{\"k\":\"k{i % 3}\",\"v\":{{\"pad\":\"{Filler}\"}}}}")).IsOk()
                .V.GetProperty("_ver_").GetString()!);
        Assert.Equal("{\"s\":\"ok\",\"v\":1}", (await client.DeleteReplyAsync(path + "?k=k1")).Body);
        versions.Reverse();

        var pages = await PagesAsync(client, path + "?time_series=1&format=full");
        var read = pages.SelectMany(p => p).ToList();
        Assert.Equal("delete", read[0].GetProperty("op").GetString());
        Assert.Equal(versions, read.Skip(1).Select(e => e.GetProperty("_ver_").GetString()!));
        Assert.True(pages.Count >= 3, $"{pages.Count} pages");
    }

    [Fact]
    public async Task A_limit_pages_a_small_history_and_a_history_that_fits_has_no_next()
    {
        using var client = fixture.Elena();
        var path = "/_data/" + Unique("small");
        for (var i = 0; i < 5; i++) (await client.PutReplyAsync(path, $"{{\"k\":\"a\",\"v\":{i}}}")).IsOk();

        var whole = (await client.GetReplyAsync(path + "?time_series=1&k=a")).IsOk();
        Assert.False(whole.Json.TryGetProperty("next", out _));
        Assert.Equal([4, 3, 2, 1, 0], whole.V.EnumerateArray().Select(e => e[2].GetInt32()));
        // A small reply goes out as every reply did: in one piece, with its length.
        Assert.Equal(whole.Body.Length, whole.Message.Content.Headers.ContentLength);

        var pages = await PagesAsync(client, path + "?time_series=1&k=a&limit=2");
        Assert.Equal([2, 2, 1], pages.Select(p => p.Count));
        Assert.Equal([4, 3, 2, 1, 0], pages.SelectMany(p => p).Select(e => e[2].GetInt32()));
    }

    [Fact]
    public async Task Keys_ns_and_ds_listings_page_with_limit_and_cursor()
    {
        using var client = fixture.Elena();
        var root = Unique("list");
        var keys = Enumerable.Range(0, 7).Select(i => $"key{i:D2}").ToArray();
        foreach (var key in keys) (await client.PutReplyAsync($"/_data/{root}", $"{{\"k\":\"{key}\",\"v\":1}}")).IsOk();
        var paths = Enumerable.Range(0, 5).Select(i => $"{root}/p{i}").ToArray();
        foreach (var path in paths)
        {
            (await client.PutReplyAsync($"/_data/{path}", "{\"k\":\"x\",\"v\":1}")).IsOk();
            (await client.PutReplyAsync($"/_ns/{path}")).IsOk();
        }

        Assert.Equal(keys, (await PagesAsync(client, $"/_data/{root}?limit=3")).SelectMany(p => p).Select(e => e.GetString()!));
        Assert.Equal(paths, (await PagesAsync(client, $"/_ns/{root}?limit=2")).SelectMany(p => p).Select(e => e.GetString()!));
        Assert.Equal([root, .. paths],
            (await PagesAsync(client, $"/_ds/{root}?l=data&limit=4")).SelectMany(p => p).Select(e => e.GetString()!));
        // Without a limit, a listing that fits is the same reply as before paging existed.
        Assert.Equal("{\"s\":\"ok\",\"v\":[" + string.Join(",", keys.Select(k => $"\"{k}\"")) + "]}",
            (await client.GetReplyAsync($"/_data/{root}")).Body);
    }

    [Fact]
    public async Task Sub_account_admin_deny_rule_and_presence_listings_page_like_the_others()
    {
        using var client = fixture.Elena();
        var subs = Enumerable.Range(0, 5).Select(i => Unique($"sub{i}")).Order(StringComparer.Ordinal).ToArray();
        foreach (var sub in subs)
            (await client.PutReplyAsync("/_acc/accounts", $"{{\"k\":\"{sub}\",\"v\":{{\"email\":\"{sub}@example.com\"}}}}")).IsOk();
        var listed = (await PagesAsync(client, "/_acc/accounts?limit=2")).SelectMany(p => p).Select(e => e.GetString()!).ToList();
        Assert.Equal(subs, listed.Where(subs.Contains));
        Assert.Equal(listed.Order(StringComparer.Ordinal), listed);

        var room = Unique("rules");
        var rules = new[] { "198.51.100.1", "198.51.100.2", "198.51.100.3" };
        foreach (var rule in rules) (await client.PutReplyAsync($"/_auth/{room}", $"{{\"k\":\"{rule}\"}}")).IsOk();
        Assert.Equal(rules, (await PagesAsync(client, $"/_auth/{room}?limit=2")).SelectMany(p => p).Select(e => e.GetString()!));

        // No one is on this channel: one empty page and no next.
        var empty = (await client.GetReplyAsync($"/_subs/{Unique("nobody")}?limit=1")).IsOk();
        Assert.Equal(0, empty.V.GetArrayLength());
        Assert.False(empty.Json.TryGetProperty("next", out _));
        (await client.GetReplyAsync($"/_subs/x?limit=1&cursor=garbled")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await client.GetReplyAsync($"/_subs/x?as=values&cursor=garbled")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await client.GetReplyAsync($"/_acc/accounts?cursor=garbled")).IsError("bad_param", HttpStatusCode.BadRequest);
    }

    public static TheoryData<string> Garbled => new()
    {
        "x", "!!!!", "AAAA", "%00", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo", new string('A', 6000),
    };

    [Theory]
    [MemberData(nameof(Garbled))]
    public async Task A_garbled_cursor_is_bad_param_on_every_listing(string cursor)
    {
        using var client = fixture.Elena();
        var path = Unique("bad");
        (await client.PutReplyAsync($"/_data/{path}", "{\"k\":\"a\",\"v\":1}")).IsOk();
        var c = Uri.EscapeDataString(cursor);
        foreach (var uri in new[]
        {
            $"/_data/{path}?cursor={c}", $"/_data/{path}?time_series=1&k=a&cursor={c}", $"/_data/{path}?time_series=1&cursor={c}",
            $"/_ns?cursor={c}", $"/_ds?l=data&cursor={c}",
        })
            (await client.GetReplyAsync(uri)).IsError("bad_param", HttpStatusCode.BadRequest);
        // Nothing else happened: the server answers as before.
        Assert.Equal("{\"s\":\"ok\",\"v\":[\"a\"]}", (await client.GetReplyAsync($"/_data/{path}")).Body);
    }

    [Fact]
    public async Task A_cursor_only_opens_the_listing_that_handed_it_out()
    {
        using var elena = fixture.Elena();
        var path = Unique("scope");
        for (var i = 0; i < 3; i++)
        {
            (await elena.PutReplyAsync($"/_data/{path}", $"{{\"k\":\"a\",\"v\":{i}}}")).IsOk();
            (await elena.PutReplyAsync($"/_data/{path}", $"{{\"k\":\"b\",\"v\":{i}}}")).IsOk();
        }
        var historyNext = (await elena.GetReplyAsync($"/_data/{path}?time_series=1&k=a&limit=1")).IsOk().Json.GetProperty("next").GetString()!;
        var keysNext = (await elena.GetReplyAsync($"/_data/{path}?limit=1")).IsOk().Json.GetProperty("next").GetString()!;
        var c = Uri.EscapeDataString(historyNext);

        // Another key, the path's history, another path, the key listing: not this cursor's listing.
        (await elena.GetReplyAsync($"/_data/{path}?time_series=1&k=b&cursor={c}")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync($"/_data/{path}?time_series=1&cursor={c}")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync($"/_data/{path}/other?time_series=1&k=a&cursor={c}")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync($"/_data/{path}?cursor={c}")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync($"/_ns/{path}?cursor={Uri.EscapeDataString(keysNext)}")).IsError("bad_param", HttpStatusCode.BadRequest);
        // A tampered cursor: one character changed.
        var flipped = (historyNext[0] == 'A' ? "B" : "A") + historyNext[1..];
        (await elena.GetReplyAsync($"/_data/{path}?time_series=1&k=a&cursor={Uri.EscapeDataString(flipped)}"))
            .IsError("bad_param", HttpStatusCode.BadRequest);
        // The right one still works.
        Assert.Equal(2, (await elena.GetReplyAsync($"/_data/{path}?time_series=1&k=a&cursor={c}")).IsOk().V.GetArrayLength());
    }

    [Fact]
    public async Task Another_tenants_cursor_reads_nothing_of_the_owner()
    {
        using var elena = fixture.Elena();
        using var bob = fixture.Bob();
        var path = Unique("tenant");
        for (var i = 0; i < 3; i++) (await elena.PutReplyAsync($"/_data/{path}", $"{{\"k\":\"a\",\"v\":\"elena-{i}\"}}")).IsOk();
        (await bob.PutReplyAsync($"/_data/{path}", "{\"k\":\"a\",\"v\":\"bob-0\"}")).IsOk();
        (await bob.PutReplyAsync($"/_data/{path}", "{\"k\":\"z\",\"v\":\"bob-1\"}")).IsOk();

        var history = (await elena.GetReplyAsync($"/_data/{path}?time_series=1&k=a&limit=1")).IsOk().Json.GetProperty("next").GetString()!;
        var pathHistory = (await elena.GetReplyAsync($"/_data/{path}?time_series=1&limit=1")).IsOk().Json.GetProperty("next").GetString()!;
        var keys = (await bob.GetReplyAsync($"/_data/{path}?limit=1")).IsOk().Json.GetProperty("next").GetString()!;

        // The same path and key in bob's bucket: elena's cursor does not open there (and never reaches her log records).
        var a = await bob.GetReplyAsync($"/_data/{path}?time_series=1&k=a&cursor={Uri.EscapeDataString(history)}");
        a.IsError("bad_param", HttpStatusCode.BadRequest);
        (await bob.GetReplyAsync($"/_data/{path}?time_series=1&cursor={Uri.EscapeDataString(pathHistory)}"))
            .IsError("bad_param", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync($"/_data/{path}?cursor={Uri.EscapeDataString(keys)}")).IsError("bad_param", HttpStatusCode.BadRequest);
        Assert.DoesNotContain("elena-", a.Body);
    }

    [Fact]
    public async Task A_cursor_of_a_deleted_account_does_not_open_in_the_account_recreated_under_its_name()
    {
        using var sys = fixture.Server.SystemClient();
        var name = Unique("reborn");
        var create = $"{{\"k\":\"{name}\",\"v\":{{\"email\":\"{name}@example.com\"}}}}";
        var oldSecret = (await sys.PutReplyAsync("/_acc/accounts", create)).IsOk().V.GetProperty("secret").GetString()!;
        string history, pathHistory;
        using (var old = fixture.Server.Client(name, oldSecret))
        {
            for (var i = 0; i < 3; i++) (await old.PutReplyAsync("/_data/p", $"{{\"k\":\"a\",\"v\":\"old-{i}\"}}")).IsOk();
            history = (await old.GetReplyAsync("/_data/p?time_series=1&k=a&limit=1")).IsOk().Json.GetProperty("next").GetString()!;
            pathHistory = (await old.GetReplyAsync("/_data/p?time_series=1&limit=1")).IsOk().Json.GetProperty("next").GetString()!;
        }
        Assert.Equal("{\"s\":\"ok\",\"v\":1}", (await sys.DeleteReplyAsync($"/_acc/accounts?k={name}")).Body);
        var newSecret = (await sys.PutReplyAsync("/_acc/accounts", create)).IsOk().V.GetProperty("secret").GetString()!;
        using var reborn = fixture.Server.Client(name, newSecret);
        (await reborn.PutReplyAsync("/_data/p", "{\"k\":\"a\",\"v\":\"new\"}")).IsOk();

        // The old records are still in the log under the same bucket, path and key; the old cursors must not reach them.
        var key = await reborn.GetReplyAsync($"/_data/p?time_series=1&k=a&cursor={Uri.EscapeDataString(history)}");
        var path = await reborn.GetReplyAsync($"/_data/p?time_series=1&cursor={Uri.EscapeDataString(pathHistory)}");
        Assert.DoesNotContain("old-", key.Body + path.Body);
        key.IsError("bad_param", HttpStatusCode.BadRequest);
        path.IsError("bad_param", HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("?limit=0")]
    [InlineData("?limit=10001")]
    [InlineData("?limit=-1")]
    [InlineData("?time_series=1&limit=10001")]
    public async Task A_limit_outside_1_to_10000_is_bad_param(string query)
    {
        using var client = fixture.Elena();
        (await client.GetReplyAsync("/_data/limits" + query)).IsError("bad_param", HttpStatusCode.BadRequest);
        (await client.GetReplyAsync("/_ns" + query.Replace("time_series=1&", ""))).IsError("bad_param", HttpStatusCode.BadRequest);
        (await client.GetReplyAsync("/_ds?l=data&" + query.TrimStart('?').Replace("time_series=1&", ""))).IsError("bad_param", HttpStatusCode.BadRequest);
    }
}
