using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kv4.Tests.Cli;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Three Kv4 server processes as one cluster: any node answers any request of the API with a single node's replies.
/// An account created through n1 logs in on n3; data written through n1 is read through n2 and n3 with its history;
/// a compare-and-set made with a `_ver_` read from another node works; listings, the namespace tree and a watch span
/// every node's partitions; `/_cluster` tells the members and where each partition lives.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterApiTests : IAsyncLifetime
{
    private ClusterProcesses _cluster = null!;

    public async Task InitializeAsync() => _cluster = await ClusterProcesses.StartAsync(3);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private static string Text(JsonElement element) => element.GetRawText();

    [Fact]
    public async Task Any_node_answers_any_request_with_the_same_replies()
    {
        var created = await _cluster.SendAsync("n1", HttpMethod.Put, "/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com"}}""");
        Assert.True(created.Status == HttpStatusCode.OK, Text(created.Body) + _cluster.Logs);
        var secret = created.Body.GetProperty("v").GetProperty("secret").GetString()!;

        // Written through n1, in many paths (so in many partitions, led by every node).
        var versions = new Dictionary<string, string>();
        for (var i = 0; i < 12; i++)
        {
            var put = await _cluster.SendAsync("n1", HttpMethod.Put, $"/_data/rooms/r{i}", $"{{\"k\":\"state\",\"v\":{{\"n\":{i}}}}}", "elena", secret);
            Assert.Equal(HttpStatusCode.OK, put.Status);
            versions[$"r{i}"] = put.Body.GetProperty("v").GetProperty("_ver_").GetString()!;
        }
        foreach (var node in new[] { "n2", "n3" })
        {
            for (var i = 0; i < 12; i++)
            {
                var get = await _cluster.SendAsync(node, HttpMethod.Get, $"/_data/rooms/r{i}?k=state", user: "elena", secret: secret);
                Assert.Equal(HttpStatusCode.OK, get.Status);
                Assert.Equal(i, get.Body.GetProperty("v").GetProperty("n").GetInt32());
                Assert.Equal(versions[$"r{i}"], get.Body.GetProperty("v").GetProperty("_ver_").GetString());
            }
            // A listing of paths spans the partitions of every node: the same answer everywhere.
            var paths = await _cluster.SendAsync(node, HttpMethod.Get, "/_ds/rooms?l=data", user: "elena", secret: secret);
            Assert.Equal(12, paths.Body.GetProperty("v").GetArrayLength());
        }

        // Compare-and-set with a version read from n3, written through n2; the stale version is refused through n1.
        var read = await _cluster.SendAsync("n3", HttpMethod.Get, "/_data/rooms/r5?k=state", user: "elena", secret: secret);
        var ver = read.Body.GetProperty("v").GetProperty("_ver_").GetString();
        var cas = await _cluster.SendAsync("n2", HttpMethod.Post, "/_data/rooms/r5", $$"""{"k":"state","v":{"n":50},"_ver_":"{{ver}}"}""", "elena", secret);
        Assert.Equal(HttpStatusCode.OK, cas.Status);
        var stale = await _cluster.SendAsync("n1", HttpMethod.Post, "/_data/rooms/r5", $$"""{"k":"state","v":{"n":51},"_ver_":"{{ver}}"}""", "elena", secret);
        Assert.Equal(HttpStatusCode.Conflict, stale.Status);
        Assert.Equal("version_conflict", stale.Body.GetProperty("v").GetString());

        var history = await _cluster.SendAsync("n1", HttpMethod.Get, "/_data/rooms/r5?k=state&time_series=1", user: "elena", secret: secret);
        Assert.Equal(2, history.Body.GetProperty("v").GetArrayLength());

        // Another account never sees elena's data, whichever node it asks.
        var bob = await _cluster.SendAsync("n2", HttpMethod.Put, "/_acc/accounts", """{"k":"bob","v":{"email":"bob@example.com"}}""");
        var bobSecret = bob.Body.GetProperty("v").GetProperty("secret").GetString()!;
        var notBobs = await _cluster.SendAsync("n3", HttpMethod.Get, "/_data/rooms/r5?k=state", user: "bob", secret: bobSecret);
        Assert.Equal(HttpStatusCode.NotFound, notBobs.Status);
    }

    [Fact]
    public async Task Reads_as_of_an_instant_answer_the_same_through_every_node()
    {
        var created = await _cluster.SendAsync("n1", HttpMethod.Put, "/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com"}}""");
        Assert.True(created.Status == HttpStatusCode.OK, Text(created.Body) + _cluster.Logs);
        var secret = created.Body.GetProperty("v").GetProperty("secret").GetString()!;

        // Many paths, so many partitions led by every node; then, after t1, half of it deleted and one value changed.
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n1", HttpMethod.Put, $"/_data/rooms/r{i}", $"{{\"k\":\"state\",\"v\":{{\"n\":{i}}}}}", "elena", secret)).Status);
            Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n1", HttpMethod.Put, $"/_ns/rooms/r{i}", "", "elena", secret)).Status);
        }
        var t1 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() <= t1) await Task.Delay(1);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n2", HttpMethod.Delete, $"/_data/rooms/r{i}?k=state", user: "elena", secret: secret)).Status);
            Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n2", HttpMethod.Delete, $"/_ns/rooms/r{i}", user: "elena", secret: secret)).Status);
        }
        Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n3", HttpMethod.Put, "/_data/rooms/r7", """{"k":"state","v":{"n":70}}""", "elena", secret)).Status);

        var then = Enumerable.Range(0, 12).Select(i => $"rooms/r{i}").Order(StringComparer.Ordinal).ToArray();
        var now = Enumerable.Range(6, 6).Select(i => $"rooms/r{i}").Order(StringComparer.Ordinal).ToArray();
        foreach (var node in new[] { "n1", "n2", "n3" })
        {
            for (var i = 0; i < 12; i++)
            {
                var get = await _cluster.SendAsync(node, HttpMethod.Get, $"/_data/rooms/r{i}?k=state&at={t1}", user: "elena", secret: secret);
                Assert.True(get.Status == HttpStatusCode.OK, Text(get.Body));
                Assert.Equal(i, get.Body.GetProperty("v").GetProperty("n").GetInt32());
                var keys = await _cluster.SendAsync(node, HttpMethod.Get, $"/_data/rooms/r{i}?at={t1}", user: "elena", secret: secret);
                Assert.Equal("[\"state\"]", Text(keys.Body.GetProperty("v")));
            }
            Assert.Equal(HttpStatusCode.NotFound, (await _cluster.SendAsync(node, HttpMethod.Get, "/_data/rooms/r0?k=state", user: "elena", secret: secret)).Status);
            var tree = await _cluster.SendAsync(node, HttpMethod.Get, $"/_ns/rooms?at={t1}", user: "elena", secret: secret);
            Assert.Equal(then, tree.Body.GetProperty("v").EnumerateArray().Select(e => e.GetString()!));
            var paged = await _cluster.SendAsync(node, HttpMethod.Get, $"/_ns/rooms?at={t1}&limit=5", user: "elena", secret: secret);
            Assert.Equal(then.Take(5), paged.Body.GetProperty("v").EnumerateArray().Select(e => e.GetString()!));
            var current = await _cluster.SendAsync(node, HttpMethod.Get, "/_ns/rooms", user: "elena", secret: secret);
            Assert.Equal(now, current.Body.GetProperty("v").EnumerateArray().Select(e => e.GetString()!));
        }
    }

    [Fact]
    public async Task The_cluster_service_tells_members_and_partitions_and_only_to_sys()
    {
        var members = await _cluster.SendAsync("n2", HttpMethod.Get, "/_cluster");
        Assert.Equal(HttpStatusCode.OK, members.Status);
        var v = members.Body.GetProperty("v");
        Assert.Equal("n2", v.GetProperty("self").GetString());
        Assert.Contains(v.GetProperty("leader").GetString(), new[] { "n1", "n2", "n3" });
        var list = v.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(["n1", "n2", "n3"], list.Select(m => m.GetProperty("name").GetString()));
        foreach (var member in list)
        {
            Assert.Equal("up", member.GetProperty("state").GetString());
            Assert.Equal(_cluster[member.GetProperty("name").GetString()!].Url, member.GetProperty("url").GetString());
            Assert.Equal(_cluster[member.GetProperty("name").GetString()!].Endpoint, member.GetProperty("endpoint").GetString());
        }
        Assert.Equal(64, list.Sum(m => m.GetProperty("load").GetProperty("primaries").GetInt32()));

        var partitions = await _cluster.SendAsync("n3", HttpMethod.Get, "/_cluster/partitions");
        var all = partitions.Body.GetProperty("v").EnumerateArray().ToList();
        Assert.Equal(64, all.Count);
        foreach (var p in all)
        {
            var primary = p.GetProperty("primary").GetString()!;
            var replicas = p.GetProperty("replicas").EnumerateArray().Select(r => r.GetString()!).ToList();
            Assert.Equal(2, replicas.Count);
            Assert.DoesNotContain(primary, replicas);
            Assert.True(p.GetProperty("epoch").GetInt32() >= 1);
        }

        var created = await _cluster.SendAsync("n1", HttpMethod.Put, "/_acc/accounts", """{"k":"carol","v":{"email":"carol@example.com"}}""");
        var secret = created.Body.GetProperty("v").GetProperty("secret").GetString()!;
        var refused = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster", user: "carol", secret: secret);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
    }

    [Fact]
    public async Task The_command_line_reads_and_drives_a_real_cluster()
    {
        Dictionary<string, string> Login(string node) => new()
        {
            ["KV4_URL"] = _cluster[node].Url, ["KV4_USER"] = "$sys", ["KV4_SECRET"] = ClusterProcesses.Secret,
        };

        (await Kv4Cli.RunAsync(Login("n1"), "put", "cli/notes", "today", """{"text":"hello"}""")).Ok();
        Assert.Contains("hello", (await Kv4Cli.RunAsync(Login("n3"), "get", "cli/notes", "today")).Ok());

        var status = (await Kv4Cli.RunAsync(Login("n2"), "cluster", "status")).Ok();
        Assert.Matches(@"^this node: n2    leader: n[123]\n", status);
        foreach (var node in new[] { "n1", "n2", "n3" })
            Assert.Matches($@"(?m)^{node}[ *(leader)]* +up +127\.0\.0\.1:\d+ +{Regex.Escape(_cluster[node].Url)} ", status);
        // One row a partition: number, epoch, a primary, two backups, three in sync.
        Assert.Equal(64, Regex.Matches(status, @"(?m)^ +\d+ +\d+  n[123] +n[123],n[123] +n[123],n[123],n[123] ").Count);

        Assert.Equal("n3: leaving\n", (await Kv4Cli.RunAsync(Login("n1"), "cluster", "decommission", "n3")).Ok());
        Assert.Matches(@"(?m)^n3 .*leaving ", (await Kv4Cli.RunAsync(Login("n2"), "cluster", "status")).Ok());
    }

    [Fact]
    public async Task A_backup_of_the_whole_cluster_taken_through_one_node_restores_into_a_single_node()
    {
        var secret = await _cluster.CreateAccountAsync("elena");
        for (var i = 0; i < 16; i++)
        {
            var node = $"n{1 + i % 3}";
            for (var n = 0; n < 3; n++)
                Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync(node, HttpMethod.Put, $"/_data/rooms/r{i}", $"{{\"k\":\"state\",\"v\":{{\"n\":{n}}}}}", "elena", secret)).Status);
        }
        Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n3", HttpMethod.Delete, "/_data/rooms/r7?k=state", user: "elena", secret: secret)).Status);

        using var work = new Kv4.Tests.Engine.Support.TempDirectory("cluster-backup");
        var file = Path.Combine(work.Path, "cluster.backup");
        var login = new Dictionary<string, string> { ["KV4_URL"] = _cluster["n2"].Url, ["KV4_USER"] = "$sys", ["KV4_SECRET"] = ClusterProcesses.Secret };
        (await Kv4Cli.RunAsync(login, "backup", file)).Ok();
        var restoredDir = Path.Combine(work.Path, "single");
        var restore = await ServerCommand.RunAsync("restore", file, $"--Kv4:DataDir={restoredDir}");
        Assert.True(restore.ExitCode == 0, restore.Err);

        await using var single = await CliServer.StartAsync(dataDirectory: restoredDir);
        using var elena = single.Client("elena", secret);
        for (var i = 0; i < 16; i++)
        {
            var query = $"/_data/rooms/r{i}?k=state&time_series=1";
            var original = await _cluster.SendAsync("n1", HttpMethod.Get, query, user: "elena", secret: secret);
            var restored = await elena.GetAsync(query);
            Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
            using var body = JsonDocument.Parse(await restored.Content.ReadAsStringAsync());
            Assert.Equal(Text(original.Body.GetProperty("v")), Text(body.RootElement.GetProperty("v")));
            Assert.Equal(i == 7 ? 4 : 3, body.RootElement.GetProperty("v").GetArrayLength());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await elena.GetAsync("/_data/rooms/r7?k=state")).StatusCode);
    }
}
