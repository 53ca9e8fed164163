using System.Net;
using System.Net.WebSockets;
using Kv4.Engine.Model;
using Kv4.Server.Hosting;
using Kv4.Tests.Server;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Realtime;

/// <summary>Presence in layer `subs` and the `_subs` service (http-api.md §5.6), against the real server.</summary>
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

        Assert.Equal(["alice", "bob"], (await elena.GetReplyAsync("/_subs/presence")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        var entry = (await elena.GetReplyAsync("/_subs/presence?k=alice")).IsOk().V;
        Assert.Equal("alice", entry.GetProperty("key").GetString());
        Assert.Equal("elena", entry.GetProperty("ident").GetString());
        Assert.Equal("presence", entry.GetProperty("path").GetString());
        Assert.Equal("/presence", entry.GetProperty("topic").GetString());
        Assert.Equal(RealtimeServerFixture.NodeId, entry.GetProperty("origin").GetString());
        Assert.Equal("signal", entry.GetProperty("service").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Object, entry.GetProperty("meta").ValueKind);
        var values = (await elena.GetReplyAsync("/_subs/presence?as=values")).IsOk().V;
        Assert.Equal(["alice", "bob"], values.EnumerateArray().Select(v => v.GetProperty("key").GetString()));

        await bob.CloseAsync();
        Assert.Equal("peer_removed", (await alice.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
        // The entry is deleted before the others are told: whoever saw peer_removed no longer finds bob.
        Assert.Equal(["alice"], (await elena.GetReplyAsync("/_subs/presence")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        (await elena.GetReplyAsync("/_subs/presence?k=bob")).IsError("not_found", HttpStatusCode.NotFound);
        (await elena.PutReplyAsync("/_subs/presence", """{"k":"x","v":1}""")).IsError("method_not_allowed", HttpStatusCode.MethodNotAllowed);
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

        Assert.Equal(1, (await elena.DeleteReplyAsync("/_subs/kick?k=bob")).IsOk().V.GetInt32());
        Assert.Equal("""{"m":{"o":"peer_removed","f":"/kick/bob"}}""", await alice.NextAsync());
        Assert.Equal(["alice"], (await elena.GetReplyAsync("/_subs/kick")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        var (status, description) = await bob.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal("kicked", description);
        Assert.Equal(0, (await elena.DeleteReplyAsync("/_subs/kick?k=bob")).IsOk().V.GetInt32());

        // Without k: everyone on the channel and below.
        Assert.Equal(2, (await elena.DeleteReplyAsync("/_subs/kick")).IsOk().V.GetInt32());
        await alice.WaitClosedAsync();
        await carol.WaitClosedAsync();
        Assert.Equal(0, (await elena.GetReplyAsync("/_subs/kick")).IsOk().V.GetArrayLength());
        Assert.Equal(0, (await elena.GetReplyAsync("/_subs/kick/sub")).IsOk().V.GetArrayLength());
    }

    [Fact]
    public async Task Entries_left_by_a_crash_of_this_node_are_removed_at_start()
    {
        await using var server = await Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs());
        var store = server.Services.GetRequiredService<EngineLifetime>().Runtime!.Store!;
        // What a crashed run leaves: an entry of this node, one of another node, and a non-signal value.
        await store.PutAsync(new EntryAddress("elena", "subs", "room", "ghost"),
            """{"key":"ghost","ident":"elena","path":"room","topic":"/room","origin":"rt-node","service":"signal","meta":{}}"""u8.ToArray(), "elena");
        await store.PutAsync(new EntryAddress("elena", "subs", "room", "elsewhere"),
            """{"key":"elsewhere","ident":"elena","path":"room","topic":"/room","origin":"other-node","service":"signal","meta":{}}"""u8.ToArray(), "elena");
        await server.RestartAsync();
        store = server.Services.GetRequiredService<EngineLifetime>().Runtime!.Store!;
        Assert.Equal(["elsewhere"], store.ListKeys("elena", "subs", "room"));
    }
}
