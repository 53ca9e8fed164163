using System.Net;
using System.Net.WebSockets;
using Kv4.Engine.Model;
using Kv4.Server.Hosting;
using Kv4.Tests.Server;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Realtime;

/// <summary>
/// Presence in layer `subs` and the `_subs` service (http-api.md §5.6), against the real server. As in the Xirsys v3
/// API, a channel's subscriptions live under its topic node: channel "presence" is listed at `/_subs/presence/topic`.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PresenceTests(RealtimeServerFixture fixture) : IClassFixture<RealtimeServerFixture>
{
    [Fact]
    public async Task Connected_users_are_listed_shown_and_gone_after_they_leave()
    {
        using var elena = fixture.Elena();
        await using var alice = await fixture.JoinAsync("presence", "alice");
        await alice.NextAsync();
        await using var bob = await fixture.JoinAsync("presence", "bob");
        await bob.NextAsync();
        await alice.NextAsync();

        Assert.Equal(["alice", "bob"], (await elena.GetReplyAsync("/_subs/presence/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        var entry = (await elena.GetReplyAsync("/_subs/presence/topic?k=alice")).IsOk().V;
        Assert.Equal("alice", entry.GetProperty("key").GetString());
        Assert.Equal("elena", entry.GetProperty("ident").GetString());
        Assert.Equal("/presence", entry.GetProperty("path").GetString());
        Assert.Equal("topic", entry.GetProperty("topic").GetString());
        Assert.Equal(RealtimeServerFixture.NodeId, entry.GetProperty("origin").GetString());
        Assert.Equal("signal", entry.GetProperty("service").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Object, entry.GetProperty("meta").ValueKind);
        var values = (await elena.GetReplyAsync("/_subs/presence/topic?as=values")).IsOk().V;
        Assert.Equal(["alice", "bob"], values.EnumerateArray().Select(v => v.GetProperty("key").GetString()));

        await bob.CloseAsync();
        Assert.Equal("peer_removed", (await alice.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
        // The entry is deleted before the others are told: whoever saw peer_removed no longer finds bob.
        Assert.Equal(["alice"], (await elena.GetReplyAsync("/_subs/presence/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        (await elena.GetReplyAsync("/_subs/presence/topic?k=bob")).IsError("not_found", HttpStatusCode.NotFound);
        (await elena.PutReplyAsync("/_subs/presence/topic", """{"k":"x","v":1}""")).IsError("method_not_allowed", HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Kicking_one_user_closes_its_socket_tells_the_others_and_removes_it_from_the_list()
    {
        using var elena = fixture.Elena();
        await using var alice = await fixture.JoinAsync("kick", "alice");
        await alice.NextAsync();
        await using var bob = await fixture.JoinAsync("kick", "bob");
        await bob.NextAsync();
        await alice.NextAsync();
        await using var carol = await fixture.JoinAsync("kick/sub", "carol");
        await carol.NextAsync();

        Assert.Equal(1, (await elena.DeleteReplyAsync("/_subs/kick/topic?k=bob")).IsOk().V.GetInt32());
        Assert.Equal("""{"m":{"o":"peer_removed","f":"/kick/bob"}}""", await alice.NextAsync());
        Assert.Equal(["alice"], (await elena.GetReplyAsync("/_subs/kick/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        var (status, description) = await bob.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal("kicked", description);
        Assert.Equal(0, (await elena.DeleteReplyAsync("/_subs/kick/topic?k=bob")).IsOk().V.GetInt32());

        // Without k, at the channel's path: everyone on the channel (its topic node) and on the channels below.
        Assert.Equal(2, (await elena.DeleteReplyAsync("/_subs/kick")).IsOk().V.GetInt32());
        await alice.WaitClosedAsync();
        await carol.WaitClosedAsync();
        Assert.Equal(0, (await elena.GetReplyAsync("/_subs/kick/topic")).IsOk().V.GetArrayLength());
        Assert.Equal(0, (await elena.GetReplyAsync("/_subs/kick/sub/topic")).IsOk().V.GetArrayLength());
    }

    [Fact]
    public async Task Subscriptions_have_a_history_and_the_router_counts_subscriptions_and_packets()
    {
        await using var server = await Kv4TestServer.StartAsync(RealtimeArgs());
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", "pw-history-1");
        using var elena = server.Client("elena", secret);
        (await elena.PutReplyAsync("/_ns/stats-room")).IsOk();
        async Task<SignalClient> Join(string user)
        {
            var token = (await elena.PutReplyAsync($"/_token/stats-room?k={user}")).IsOk().V.GetString()!;
            var host = (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;
            var client = await SignalClient.ConnectAsync(new Uri(host + "/v2/" + token));
            await client.NextAsync(); // peers
            return client;
        }
        await using var alice = await Join("alice");
        await using var bob = await Join("bob");
        await alice.NextAsync(); // peer_connected bob
        const string message = """{"t":"u","m":{"f":"/stats-room/alice","o":"message","t":"bob"},"p":{"msg":"hello"}}""";
        await alice.SendAsync(message);
        var relayed = await bob.NextAsync();
        await alice.SendAsync("""{"t":"u","m":{"o":"message"},"p":{"msg":"to all"}}""");
        var broadcast = await bob.NextAsync();
        await bob.CloseAsync();
        Assert.Equal("peer_removed", (await alice.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());

        // bob's entry: created when he joined, deleted when he left; the values as they were, newest first.
        var history = (await elena.GetReplyAsync("/_subs/stats-room/topic?k=bob&time_series=1")).IsOk().V;
        Assert.Equal(2, history.GetArrayLength());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, history[0][2].ValueKind);
        Assert.Equal("bob", history[1][2].GetProperty("key").GetString());
        Assert.Equal("/stats-room", history[1][2].GetProperty("path").GetString());
        // The whole topic node: alice's join, bob's join and leave.
        Assert.Equal(3, (await elena.GetReplyAsync("/_subs/stats-room/topic?time_series=1")).IsOk().V.GetArrayLength());

        // router:sub counts the joins and router:pkt the relayed messages with their sizes, at the channel, per member.
        await server.Services.GetRequiredService<EngineLifetime>().Runtime!.Platform.Stats.FlushAsync();
        var subs = (await elena.GetReplyAsync("/_stats/stats-room?l=router:sub")).IsOk().V;
        Assert.Equal(2, subs.GetProperty("count").GetInt32());
        Assert.Equal(1, (await elena.GetReplyAsync("/_stats/stats-room?l=router:sub&k=bob")).IsOk().V.GetProperty("count").GetInt32());
        var packets = (await elena.GetReplyAsync("/_stats/stats-room?l=router:pkt&k=alice")).IsOk().V;
        Assert.Equal(2, packets.GetProperty("count").GetInt32());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(relayed) + System.Text.Encoding.UTF8.GetByteCount(broadcast), packets.GetProperty("sum").GetDouble());
        // And the account's root sums every channel's.
        Assert.Equal(2, (await elena.GetReplyAsync("/_stats?l=router:sub")).IsOk().V.GetProperty("count").GetInt32());
    }

    private static string[] RealtimeArgs() => RealtimeServerFixture.RealtimeArgs();

    [Fact]
    public async Task Entries_left_by_a_crash_of_this_node_are_removed_at_start()
    {
        await using var server = await Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs());
        var store = server.Services.GetRequiredService<EngineLifetime>().Runtime!.Store!;
        // What a crashed run leaves: an entry of this node, one of another node, and a non-signal value.
        await store.PutAsync(new EntryAddress("elena", "subs", "room/topic", "ghost"),
            """{"key":"ghost","ident":"elena","path":"/room","topic":"topic","origin":"rt-node","service":"signal","meta":{}}"""u8.ToArray(), "elena");
        await store.PutAsync(new EntryAddress("elena", "subs", "room/topic", "elsewhere"),
            """{"key":"elsewhere","ident":"elena","path":"/room","topic":"topic","origin":"other-node","service":"signal","meta":{}}"""u8.ToArray(), "elena");
        await server.RestartAsync();
        store = server.Services.GetRequiredService<EngineLifetime>().Runtime!.Store!;
        Assert.Equal(["elsewhere"], store.ListKeys("elena", "subs", "room/topic"));
    }
}
