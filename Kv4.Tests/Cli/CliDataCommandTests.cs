using System.Net;
using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Cli;

/// <summary>
/// The data commands of kv4 (put, get, del, ls, paths, history, tree, ns, token), run as the built binary against a
/// real server process: what each prints, its exit code, and what the server holds afterwards (read over HTTP).
/// </summary>
[Trait("Category", "Integration")]
public sealed class CliDataCommandTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    private CliServer Server => fixture.Server;

    [Fact]
    public async Task Put_get_ls_paths_history_and_del_print_what_the_server_holds()
    {
        var (name, secret, env) = await fixture.AccountAsync();
        using var http = Server.Client(name, secret);

        var v1 = (await Kv4Cli.RunAsync(env, "put", "notes", "today", """{"text":"hello"}""")).Ok().Trim();
        var v2 = (await Kv4Cli.RunAsync(env, "put", "notes", "today", """{"text":"hello again"}""")).Ok().Trim();
        Assert.Matches("^[0-9]+$", v1);
        Assert.NotEqual(v1, v2);
        Assert.Equal("hello again", (await http.GetReplyAsync("/_data/notes?k=today")).IsOk().V.GetProperty("text").GetString());

        using (var shown = JsonDocument.Parse((await Kv4Cli.RunAsync(env, "get", "notes", "today")).Ok()))
        {
            Assert.Equal(v2, shown.RootElement.GetProperty("_ver_").GetString());
            Assert.Equal("hello again", shown.RootElement.GetProperty("text").GetString());
        }

        (await Kv4Cli.RunAsync(env, "put", "notes/deep", "x", "42")).Ok();
        (await Kv4Cli.RunAsync(env, "put", "notes", "count", "7")).Ok();
        Assert.Equal("count\ntoday\n", (await Kv4Cli.RunAsync(env, "ls", "notes")).Ok());
        Assert.Equal("notes\nnotes/deep\n", (await Kv4Cli.RunAsync(env, "paths")).Ok());
        Assert.Equal("notes/deep\n", (await Kv4Cli.RunAsync(env, "paths", "notes/deep")).Ok());

        var history = (await Kv4Cli.RunAsync(env, "history", "notes", "today")).Ok().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, history.Length);
        Assert.Matches(@"^VERSION +TIME +ACTOR +VALUE$", history[0]);
        Assert.Matches($@"^{v2} +\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z +{name} +{{""text"":""hello again""}}$", history[1]);
        Assert.Matches($@"^{v1} +\S+ +{name} +{{""text"":""hello""}}$", history[2]);
        var timeColumn = history[0].IndexOf("TIME", StringComparison.Ordinal);
        var actorColumn = history[0].IndexOf("ACTOR", StringComparison.Ordinal);
        Assert.All(history.Skip(1), line => Assert.Matches(@"^\d{4}-", line[timeColumn..]));
        Assert.All(history.Skip(1), line => Assert.StartsWith(name + " ", line[actorColumn..]));

        Assert.Equal("deleted 1 entry\n", (await Kv4Cli.RunAsync(env, "del", "notes", "today")).Ok());
        Assert.Equal("deleted 0 entries\n", (await Kv4Cli.RunAsync(env, "del", "notes", "today")).Ok());
        (await http.GetReplyAsync("/_data/notes?k=today")).IsError("not_found", HttpStatusCode.NotFound);
        var afterDelete = (await Kv4Cli.RunAsync(env, "history", "notes", "today")).Ok().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, afterDelete.Length);
        Assert.EndsWith($" {name}  (deleted)", afterDelete[1]);

        var pathHistory = (await Kv4Cli.RunAsync(env, "history", "notes")).Ok().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^VERSION +TIME +ACTOR +KEY +VALUE$", pathHistory[0]);
        Assert.Equal(5, pathHistory.Length);
        Assert.Contains(pathHistory, line => line.EndsWith(" count  7", StringComparison.Ordinal));

        (await Kv4Cli.RunAsync(env, "get", "notes", "today")).Failed(ExitCodes.Server, "server error: not_found");
        (await Kv4Cli.RunAsync(env, "del", "notes")).Failed(ExitCodes.Usage, "give a key, or --tree");
        Assert.Equal("deleted 2 entries\n", (await Kv4Cli.RunAsync(env, "del", "notes", "--tree")).Ok());
        Assert.Equal("", (await Kv4Cli.RunAsync(env, "paths")).Ok());
    }

    [Fact]
    public async Task Json_prints_the_replies_as_they_came_and_layer_picks_another_layer()
    {
        var (name, secret, env) = await fixture.AccountAsync();
        using var http = Server.Client(name, secret);

        var put = (await Kv4Cli.RunAsync(env, "--json", "put", "app", "limits", """{"max":3}""")).Ok();
        using (var reply = JsonDocument.Parse(put))
            Assert.Equal("ok", reply.RootElement.GetProperty("s").GetString());
        Assert.Equal((await http.GetReplyAsync("/_data/app?k=limits")).Body + "\n", (await Kv4Cli.RunAsync(env, "get", "app", "limits", "--json")).Ok());

        (await Kv4Cli.RunAsync(env, "--layer", "cfg", "put", "app", "mode", "\"fast\"")).Ok();
        Assert.Equal("fast", (await http.GetReplyAsync("/_cfg/app?k=mode")).IsOk().V.GetString());
        (await http.GetReplyAsync("/_data/app?k=mode")).IsError("not_found", HttpStatusCode.NotFound);
        Assert.Equal("\"fast\"\n", (await Kv4Cli.RunAsync(env, "get", "app", "mode", "-l", "cfg")).Ok());
        Assert.Equal("mode\n", (await Kv4Cli.RunAsync(env, "ls", "app", "--layer", "cfg")).Ok());

        var missing = await Kv4Cli.RunAsync(env, "get", "app", "absent", "--json");
        missing.Failed(ExitCodes.Server, "server error: not_found");
        Assert.Equal("""{"s":"error","v":"not_found"}""" + "\n", missing.Out);
    }

    [Fact]
    public async Task Get_ls_and_tree_at_a_time_show_what_was_there_then()
    {
        var (_, _, env) = await fixture.AccountAsync();
        (await Kv4Cli.RunAsync(env, "put", "notes", "today", """{"text":"hello"}""")).Ok();
        (await Kv4Cli.RunAsync(env, "ns", "put", "rooms/old")).Ok();
        // The instant after those writes, once the clock has passed it (server and test share the clock).
        var then = DateTimeOffset.UtcNow;
        while (DateTimeOffset.UtcNow <= then.AddMilliseconds(1)) await Task.Delay(1);
        (await Kv4Cli.RunAsync(env, "put", "notes", "today", """{"text":"hello again"}""")).Ok();
        (await Kv4Cli.RunAsync(env, "put", "notes", "later", "1")).Ok();
        (await Kv4Cli.RunAsync(env, "ns", "del", "rooms/old")).Ok();
        (await Kv4Cli.RunAsync(env, "ns", "put", "rooms/new")).Ok();

        var ms = then.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var iso = then.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var at in new[] { ms, iso })
        {
            using (var shown = JsonDocument.Parse((await Kv4Cli.RunAsync(env, "get", "notes", "today", "--at", at)).Ok()))
                Assert.Equal("hello", shown.RootElement.GetProperty("text").GetString());
            Assert.Equal("today\n", (await Kv4Cli.RunAsync(env, "ls", "notes", "--at", at)).Ok());
            var tree = (await Kv4Cli.RunAsync(env, "tree", "--at", at)).Ok();
            Assert.Contains("old", tree);
            Assert.DoesNotContain("new", tree);
        }
        Assert.Equal("later\ntoday\n", (await Kv4Cli.RunAsync(env, "ls", "notes")).Ok());
        (await Kv4Cli.RunAsync(env, "get", "notes", "later", "--at", ms)).Failed(ExitCodes.Server, "server error: not_found");
        (await Kv4Cli.RunAsync(env, "get", "notes", "today", "--at", "yesterday")).Failed(ExitCodes.Usage, "--at yesterday: not a time");
    }

    [Fact]
    public async Task Usage_errors_server_refusals_and_unreachable_servers_exit_2_3_and_4_and_write_nothing()
    {
        var (name, secret, env) = await fixture.AccountAsync();
        using var http = Server.Client(name, secret);

        Assert.Equal(ExitCodes.Usage, (await Kv4Cli.RunAsync(env, "frobnicate")).ExitCode);
        Assert.Equal(ExitCodes.Usage, (await Kv4Cli.RunAsync(env, "put", "notes")).ExitCode);
        (await Kv4Cli.RunAsync(env, "put", "notes", "k", "hello")).Failed(ExitCodes.Usage, "the value is not JSON: hello");
        (await Kv4Cli.RunAsync(env, "put", "notes", "k", "1, \"k2\":\"smuggled\"")).Failed(ExitCodes.Usage, "the value is not JSON");
        (await Kv4Cli.RunAsync(env, "--layer", "Data!", "ls", "notes")).Failed(ExitCodes.Usage, "not a layer name");
        (await Kv4Cli.RunAsync(env, "history", "notes", "k", "--since", "yesterday")).Failed(ExitCodes.Usage, "--since yesterday: not a time");
        (await Kv4Cli.RunAsync(env, "--url", "ftp://example.com", "ls")).Failed(ExitCodes.Usage, "not a server URL");
        var noLogin = new Dictionary<string, string> { ["KV4_URL"] = Server.Url.ToString() };
        (await Kv4Cli.RunAsync(noLogin, "ls", "notes")).Failed(ExitCodes.Usage, "no login");
        (await http.GetReplyAsync("/_data/notes?k=k")).IsError("not_found", HttpStatusCode.NotFound);

        (await Kv4Cli.RunAsync(env, "--secret", "wrong", "put", "notes", "k", "1")).Failed(ExitCodes.Server, "server error: unauthorized");
        (await Kv4Cli.RunAsync(env, "put", "a/../b", "k", "1")).Failed(ExitCodes.Server, "server error: bad_path");
        (await Kv4Cli.RunAsync(env, "put", "notes", "k", "1", "--if-version", "1")).Failed(ExitCodes.Server, "server error: not_found");
        (await http.GetReplyAsync("/_data/notes?k=k")).IsError("not_found", HttpStatusCode.NotFound);
        (await http.GetReplyAsync("/_data/b?k=k")).IsError("not_found", HttpStatusCode.NotFound);

        var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        (await Kv4Cli.RunAsync(env, "--url", $"http://127.0.0.1:{port}", "ls", "notes")).Failed(ExitCodes.Connection, $"cannot reach http://127.0.0.1:{port}/");
    }

    [Fact]
    public async Task A_compare_and_set_put_writes_only_over_the_version_it_names()
    {
        var (_, _, env) = await fixture.AccountAsync();
        var v1 = (await Kv4Cli.RunAsync(env, "put", "doc", "d", """{"n":1}""")).Ok().Trim();
        var v2 = (await Kv4Cli.RunAsync(env, "put", "doc", "d", """{"n":2}""", "--if-version", v1)).Ok().Trim();
        (await Kv4Cli.RunAsync(env, "put", "doc", "d", """{"n":3}""", "--if-version", v1)).Failed(ExitCodes.Server, "server error: version_conflict");
        using var shown = JsonDocument.Parse((await Kv4Cli.RunAsync(env, "get", "doc", "d")).Ok());
        Assert.Equal(v2, shown.RootElement.GetProperty("_ver_").GetString());
        Assert.Equal(2, shown.RootElement.GetProperty("n").GetInt32());

        (await Kv4Cli.RunAsync(env, "put", "doc", "e", "\"by k2\"", "--k2", "second")).Ok();
        Assert.Equal("\"by k2\"\n", (await Kv4Cli.RunAsync(env, "get", "doc", "--k2", "second")).Ok());
        (await Kv4Cli.RunWithStdinAsync(env, """{"x": [1, 2]}""", "put", "doc", "f", "-")).Ok();
        using var fromStdin = JsonDocument.Parse((await Kv4Cli.RunAsync(env, "get", "doc", "f")).Ok());
        Assert.Equal([1, 2], fromStdin.RootElement.GetProperty("x").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task Listings_and_histories_follow_every_page()
    {
        var (name, secret, env) = await fixture.AccountAsync();
        using var http = Server.Client(name, secret);
        const int keys = 1005;
        await Parallel.ForAsync(0, keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            (await http.PutReplyAsync("/_data/many", $$"""{"k":"k{{i:D4}}","v":{{i}}}""")).IsOk());

        var listed = (await Kv4Cli.RunAsync(env, "ls", "many")).Ok().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, keys).Select(i => $"k{i:D4}"), listed);
        Assert.Equal(2, (await Kv4Cli.RunAsync(env, "ls", "many", "--json")).Lines.Length);

        var history = (await Kv4Cli.RunAsync(env, "history", "many")).Ok().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(keys + 1, history.Length);
        Assert.Equal(keys, history.Skip(1).Select(line => line.Split("  ", StringSplitOptions.RemoveEmptyEntries)[0]).Distinct().Count());
        Assert.Equal(6, (await Kv4Cli.RunAsync(env, "history", "many", "--limit", "5")).Lines.Length);
        Assert.Equal(1002, (await Kv4Cli.RunAsync(env, "history", "many", "-n", "1001")).Lines.Length);
    }

    [Fact]
    public async Task History_since_and_until_bound_the_table_by_time()
    {
        var (_, _, env) = await fixture.AccountAsync();
        (await Kv4Cli.RunAsync(env, "put", "t", "k", "1")).Ok();
        (await Kv4Cli.RunAsync(env, "put", "t", "k", "2")).Ok();
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(3, (await Kv4Cli.RunAsync(env, "history", "t", "k", "--since", "1h")).Lines.Length);
        Assert.Equal(3, (await Kv4Cli.RunAsync(env, "history", "t", "k", "--since", today, "--until", today)).Lines.Length);
        Assert.Equal(3, (await Kv4Cli.RunAsync(env, "history", "t", "k", "--since", "2016:1")).Lines.Length);
        Assert.Single((await Kv4Cli.RunAsync(env, "history", "t", "k", "--until", "2016-03-16T10:05")).Lines);
        Assert.Single((await Kv4Cli.RunAsync(env, "history", "t", "k", "--since", "9990-01-01")).Lines);
        var newest = (await Kv4Cli.RunAsync(env, "history", "t", "k", "--limit", "1")).Lines;
        Assert.Equal(2, newest.Length);
        Assert.EndsWith("  2", newest[1]);
    }

    [Fact]
    public async Task Tree_draws_the_namespace_that_ns_put_and_del_change()
    {
        var (_, _, env) = await fixture.AccountAsync();
        Assert.Equal("(no namespace nodes)\n", (await Kv4Cli.RunAsync(env, "tree")).Ok());
        foreach (var node in new[] { "rooms", "rooms/lobby", "rooms/lobby/side", "rooms/kitchen", "lone/deep" })
            Assert.Equal($"created {node}\n", (await Kv4Cli.RunAsync(env, "ns", "put", node)).Ok());

        Assert.Equal("""
            lone
            └── deep
            rooms
            ├── kitchen
            └── lobby
                └── side

            """.ReplaceLineEndings("\n"), (await Kv4Cli.RunAsync(env, "tree")).Ok());
        Assert.Equal("rooms/lobby\n└── side\n", (await Kv4Cli.RunAsync(env, "tree", "rooms/lobby")).Ok());
        Assert.Equal("rooms\n├── kitchen\n└── lobby\n", (await Kv4Cli.RunAsync(env, "tree", "rooms", "--depth", "1")).Ok());
        Assert.Equal("removed 2 nodes\n", (await Kv4Cli.RunAsync(env, "ns", "del", "rooms/lobby")).Ok());
        Assert.Equal("rooms\n└── kitchen\n", (await Kv4Cli.RunAsync(env, "tree", "rooms")).Ok());
    }

    [Fact]
    public async Task Token_issues_a_signal_token_that_opens_its_channel()
    {
        var (name, _, env) = await fixture.AccountAsync();
        (await Kv4Cli.RunAsync(env, "token", "room", "alice")).Failed(ExitCodes.Server, "server error: no_namespace");
        (await Kv4Cli.RunAsync(env, "ns", "put", "room")).Ok();
        var token = (await Kv4Cli.RunAsync(env, "token", "room", "alice", "--expire", "120")).Ok().Trim();

        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        using var claims = JsonDocument.Parse(Convert.FromBase64String(payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=')));
        Assert.Equal("alice", claims.RootElement.GetProperty("sub").GetString());
        Assert.Equal("room", claims.RootElement.GetProperty("channel").GetString());
        Assert.Equal(name, claims.RootElement.GetProperty("bucket").GetString());
        Assert.Equal(120, claims.RootElement.GetProperty("exp").GetInt64() - claims.RootElement.GetProperty("iat").GetInt64());

        using var bearer = new HttpClient { BaseAddress = Server.Url };
        bearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        (await bearer.GetReplyAsync("/_subs/room")).IsOk();
    }
}
