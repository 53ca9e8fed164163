using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Kv4.Server.Authentication;
using Kv4.Services.Api;
using Kv4.Services.Tokens;
using Kv4.Tests.Server;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Realtime;

/// <summary>The signal WebSocket (http-api.md §6) with real ClientWebSocket clients against the real server.</summary>
[Trait("Category", "Integration")]
public sealed class SignalSocketTests(RealtimeServerFixture fixture) : IClassFixture<RealtimeServerFixture>
{
    private static string Peers(string channel, params string[] users) =>
        $"{{\"m\":{{\"o\":\"peers\",\"f\":\"/{channel}/__sys__\"}},\"p\":{{\"users\":[{string.Join(",", users.Select(u => $"\"{u}\""))}]}}}}";

    private static string PeerConnected(string channel, string user) => $"{{\"m\":{{\"o\":\"peer_connected\",\"f\":\"/{channel}/{user}\"}}}}";

    private static string PeerRemoved(string channel, string user) => $"{{\"m\":{{\"o\":\"peer_removed\",\"f\":\"/{channel}/{user}\"}}}}";

    [Fact]
    public async Task Host_answers_the_servers_ws_base()
    {
        using var elena = fixture.Elena();
        var host = (await elena.GetReplyAsync("/_host?type=signal&k=alice")).IsOk().V.GetString()!;
        Assert.Equal("ws://" + fixture.Server.BaseAddress.Authority + "/ws", host);
        (await elena.GetReplyAsync("/_host")).IsError("require_type_param", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync("/_host?type=carrier-pigeon")).IsError("unrecognized_type_param", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Joining_sends_peers_to_the_joiner_and_peer_connected_to_the_others()
    {
        await using var alice = await fixture.JoinAsync("join-room", "alice");
        Assert.Equal(Peers("join-room", "alice"), await alice.NextAsync());
        await using var bob = await fixture.JoinAsync("join-room", "bob");
        Assert.Equal(Peers("join-room", "alice", "bob"), await bob.NextAsync());
        Assert.Equal(PeerConnected("join-room", "bob"), await alice.NextAsync());

        await bob.CloseAsync();
        Assert.Equal(PeerRemoved("join-room", "bob"), await alice.NextAsync());
    }

    [Fact]
    public async Task Messages_go_to_every_other_member_or_only_to_m_t_and_carry_the_tokens_user_as_sender()
    {
        await using var alice = await fixture.JoinAsync("lobby", "alice");
        await alice.NextAsync();
        await using var bob = await fixture.JoinAsync("lobby", "bob");
        await bob.NextAsync();
        await alice.NextAsync();
        await using var carol = await fixture.JoinAsync("lobby", "carol");
        await carol.NextAsync();
        await alice.NextAsync();
        await bob.NextAsync();

        // The client lies about m.f; the server writes the token's user.
        await alice.SendAsync("""{"t":"u","m":{"f":"/lobby/mallory","o":"message"},"p":{"msg":"hello all"}}""");
        const string broadcast = """{"t":"u","m":{"f":"/lobby/alice","o":"message"},"p":{"msg":"hello all"}}""";
        Assert.Equal(broadcast, await bob.NextAsync());
        Assert.Equal(broadcast, await carol.NextAsync());

        await alice.SendAsync("""{"t":"u","m":{"f":"/lobby/alice","o":"message","t":"carol"},"p":{"msg":{"type":"offer","sdp":"v=0"}}}""");
        Assert.Equal("""{"t":"u","m":{"f":"/lobby/alice","o":"message","t":"carol"},"p":{"msg":{"type":"offer","sdp":"v=0"}}}""", await carol.NextAsync());

        // bob got nothing from the direct message: his next frame is the one carol sends now.
        await carol.SendAsync("""{"t":"u","m":{"o":"message","t":"bob"},"p":{"msg":"only bob"}}""");
        Assert.Equal("""{"t":"u","m":{"f":"/lobby/carol","o":"message","t":"bob"},"p":{"msg":"only bob"}}""", await bob.NextAsync());
        // alice sent both and received neither: her next frame is bob's broadcast.
        await bob.SendAsync("""{"m":{"o":"message"},"p":{"msg":"from bob"}}""");
        Assert.Equal("""{"t":"u","m":{"f":"/lobby/bob","o":"message"},"p":{"msg":"from bob"}}""", await alice.NextAsync());
    }

    [Fact]
    public async Task Ping_is_a_silent_keep_alive_and_malformed_frames_get_an_error_frame_while_the_connection_stays()
    {
        await using var alice = await fixture.JoinAsync("limits", "alice");
        await alice.NextAsync();
        await using var bob = await fixture.JoinAsync("limits", "bob");
        await bob.NextAsync();
        await alice.NextAsync();

        await alice.SendAsync("ping");
        await alice.SendAsync("{oops");
        var error = await alice.NextJsonAsync(); // the first frame alice gets is the error: ping answered nothing
        Assert.Equal("error", error.GetProperty("m").GetProperty("o").GetString());
        Assert.Equal("/limits/__sys__", error.GetProperty("m").GetProperty("f").GetString());
        Assert.Equal("bad_json", error.GetProperty("p").GetProperty("error").GetString());

        await alice.SendAsync("""{"m":{"o":"message","t":"nobody"},"p":1}""");
        Assert.Equal("peer_not_found", (await alice.NextJsonAsync()).GetProperty("p").GetProperty("error").GetString());
        await alice.Socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("bad_json", (await alice.NextJsonAsync()).GetProperty("p").GetProperty("error").GetString());

        // Still connected and relaying; bob saw none of it.
        await alice.SendAsync("""{"m":{"o":"message"},"p":"still here"}""");
        Assert.Equal("""{"t":"u","m":{"f":"/limits/alice","o":"message"},"p":"still here"}""", await bob.NextAsync());
    }

    [Fact]
    public async Task A_frame_over_the_limit_closes_with_policy_violation_and_the_others_see_the_sender_leave()
    {
        await using var big = await fixture.JoinAsync("limits-size", "big");
        await big.NextAsync();
        await using var watcher = await fixture.JoinAsync("limits-size", "watcher");
        await watcher.NextAsync();
        await big.NextAsync();

        await big.SendAsync("{\"m\":{},\"p\":\"" + new string('x', RealtimeServerFixture.MaxFrameBytes) + "\"}");
        var (status, _) = await big.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Equal(PeerRemoved("limits-size", "big"), await watcher.NextAsync());
    }

    [Fact]
    public async Task A_second_connection_of_a_user_replaces_the_first()
    {
        await using var alice = await fixture.JoinAsync("replace", "alice");
        await alice.NextAsync();
        await using var bob1 = await fixture.JoinAsync("replace", "bob");
        await bob1.NextAsync();
        Assert.Equal(PeerConnected("replace", "bob"), await alice.NextAsync());

        await using var bob2 = await fixture.JoinAsync("replace", "bob");
        Assert.Equal(Peers("replace", "alice", "bob"), await bob2.NextAsync());
        var (status, description) = await bob1.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal("replaced", description);
        Assert.Equal(PeerRemoved("replace", "bob"), await alice.NextAsync());
        Assert.Equal(PeerConnected("replace", "bob"), await alice.NextAsync());

        // Messages reach the new connection; presence still lists bob once.
        await alice.SendAsync("""{"m":{"t":"bob"},"p":1}""");
        Assert.Equal("""{"t":"u","m":{"f":"/replace/alice","o":"message","t":"bob"},"p":1}""", await bob2.NextAsync());
        using var elena = fixture.Elena();
        Assert.Equal(["alice", "bob"], (await elena.GetReplyAsync("/_subs/replace/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Bad_expired_revoked_or_denied_joins_are_refused_before_the_upgrade()
    {
        var server = fixture.Server;
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(await fixture.SignalUriAsync("not-a-token")));

        var key = server.Services.GetRequiredService<JwtSigningKey>();
        var past = new PastClock();
        var expired = new TokenAuthority(key.Credentials, key.ValidationParameters(), clock: past)
            .IssueSignalToken(new Caller("elena", "elena", CallerKind.Account, []), "alice", "room", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(await fixture.SignalUriAsync(expired)));

        var foreignKey = new TokenAuthority(new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(new byte[64]))
            .IssueSignalToken(new Caller("elena", "elena", CallerKind.Account, []), "alice", "room", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(await fixture.SignalUriAsync(foreignKey)));

        using var elena = fixture.Elena();
        // Denied for good: lifting it would need a request from another address (the rule covers `_auth` too).
        (await elena.PutReplyAsync("/_auth/denied-room", """{"k":"127.0.0.1"}""")).IsOk();
        var token = await fixture.TokenAsync("refusals", "alice");
        var deniedToken = (await elena.PutReplyAsync("/_token?k=alice")).IsOk().V.GetString()!;
        Assert.Equal(HttpStatusCode.Forbidden, await SignalClient.RefusalAsync(await fixture.SignalUriAsync(deniedToken, "?channel=denied-room")));
        // The rule covers that path only: the same address joins other channels.
        await using var alice = await SignalClient.ConnectAsync(await fixture.SignalUriAsync(token));
        Assert.Equal("peers", (await alice.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());

        // A plain GET (no upgrade) with a good token is a bad request, in the envelope.
        using var plain = server.Client();
        (await plain.GetReplyAsync("/ws/v2/" + await fixture.TokenAsync("refusals", "x"))).IsError("bad_param", HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Token_service_rules()
    {
        using var elena = fixture.Elena();
        (await elena.PutReplyAsync("/_token/no/such/channel?k=alice")).IsError("no_namespace", HttpStatusCode.NotFound);
        (await elena.PutReplyAsync("/_token/room?k=alice&expire=soon")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await elena.PutReplyAsync("/_token/room?k=a/b")).IsError("bad_key", HttpStatusCode.BadRequest);
        (await elena.GetReplyAsync("/_token/room?k=alice")).IsError("method_not_allowed", HttpStatusCode.MethodNotAllowed);
        using var anonymous = fixture.Server.Client();
        (await anonymous.PutReplyAsync("/_token/room?k=alice")).IsError("unauthorized", HttpStatusCode.Unauthorized);

        // k omitted: a random user; expire=0: no expiry; no path: no channel restriction (the join names it).
        var unrestricted = (await elena.PutReplyAsync("/_token?expire=0")).IsOk().V.GetString()!;
        await using var anyone = await SignalClient.ConnectAsync(await fixture.SignalUriAsync(unrestricted, "?channel=lobby-open"));
        var peers = await anyone.NextJsonAsync();
        Assert.Equal("/lobby-open/__sys__", peers.GetProperty("m").GetProperty("f").GetString());
        var user = Assert.Single(peers.GetProperty("p").GetProperty("users").EnumerateArray()).GetString();
        Assert.Matches("^[0-9a-f]{32}$", user);
    }

    [Fact]
    public async Task Channels_of_different_accounts_never_meet()
    {
        await using var elenaAlice = await fixture.JoinAsync("bucket-room", "alice");
        Assert.Equal(Peers("bucket-room", "alice"), await elenaAlice.NextAsync());
        using var mark = fixture.Mark();
        await using var markBob = await fixture.JoinAsync("bucket-room", "bob", mark);
        Assert.Equal(Peers("bucket-room", "bob"), await markBob.NextAsync());
        await markBob.SendAsync("""{"m":{},"p":"mark's"}""");
        await elenaAlice.SendAsync("""{"m":{"t":"bob"},"p":1}""");
        Assert.Equal("peer_not_found", (await elenaAlice.NextJsonAsync()).GetProperty("p").GetProperty("error").GetString());
        Assert.Equal(["bob"], (await mark.GetReplyAsync("/_subs/bucket-room/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_member_that_stops_reading_is_disconnected_and_never_stalls_the_others()
    {
        await using var sender = await fixture.JoinAsync("slow", "sender");
        await sender.NextAsync();
        await using var fast = await fixture.JoinAsync("slow", "fast");
        await fast.NextAsync();
        await sender.NextAsync();
        // The slow member connects and then never reads a frame.
        using var slow = new ClientWebSocket();
        await slow.ConnectAsync(await fixture.SignalUriAsync(await fixture.TokenAsync("slow", "slow")), CancellationToken.None);
        Assert.Equal("""{"m":{"o":"peer_connected","f":"/slow/slow"}}""", await fast.NextAsync());
        await sender.NextAsync();

        // Far more than the slow socket's TCP buffers plus its 1024-frame queue can hold. Sent in batches the fast
        // member reads in full before the next (a reader slower than the sender would rightly be cut off too).
        var payload = new string('x', 3500);
        const int batches = 80, perBatch = 100;
        var fastGot = 0;
        var removed = false;
        for (var batch = 0; batch < batches; batch++)
        {
            for (var i = 0; i < perBatch; i++)
                await sender.SendAsync("{\"m\":{\"o\":\"message\"},\"p\":{\"n\":" + (batch * perBatch + i) + ",\"pad\":\"" + payload + "\"}}");
            while (fastGot < (batch + 1) * perBatch)
            {
                var frame = await fast.NextAsync();
                if (frame.Contains("\"o\":\"message\"")) fastGot++;
                else if (frame == """{"m":{"o":"peer_removed","f":"/slow/slow"}}""") removed = true;
            }
        }
        if (!removed) Assert.Equal("""{"m":{"o":"peer_removed","f":"/slow/slow"}}""", await fast.NextAsync());
        Assert.Equal(batches * perBatch, fastGot);

        // The slow socket was ended by the server: reading it now reaches its end (a close or a reset).
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            while ((await slow.ReceiveAsync(buffer, timeout.Token)).MessageType != WebSocketMessageType.Close) { }
        }
        catch (WebSocketException)
        {
        }
        using var elena = fixture.Elena();
        Assert.DoesNotContain("slow", (await elena.GetReplyAsync("/_subs/slow/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
    }

    private sealed class PastClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow.AddHours(-2);
    }
}
