using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Realtime;

/// <summary>`_sess` login sessions (http-api.md §5.12) and bearer tokens on the REST API, against the real server.</summary>
[Trait("Category", "Integration")]
public sealed class SessionTests(RealtimeServerFixture fixture) : IClassFixture<RealtimeServerFixture>
{
    private static string Login(string login, string password) => JsonSerializer.Serialize(new { k = login, v = new { password } });

    private HttpClient Bearer(string token)
    {
        var client = fixture.Server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task Login_gives_a_bearer_token_that_acts_as_the_account_and_revoking_the_session_refuses_it()
    {
        using var anonymous = fixture.Server.Client();
        var grant = (await anonymous.PostReplyAsync("/_sess", Login("elena", RealtimeServerFixture.ElenaPassword))).IsOk().V;
        var access = grant.GetProperty("access_token").GetString()!;
        var refresh = grant.GetProperty("refresh_token").GetString()!;
        var sid = grant.GetProperty("session").GetString()!;
        Assert.Equal(900, grant.GetProperty("expires_in").GetInt32());
        Assert.DoesNotContain(RealtimeServerFixture.ElenaPassword, grant.GetRawText());

        using var bearer = Bearer(access);
        (await bearer.PutReplyAsync("/_data/sess-test", """{"k":"a","v":{"n":1}}""")).IsOk();
        using var basic = fixture.Elena();
        var history = (await basic.GetReplyAsync("/_data/sess-test?k=a&time_series=1")).IsOk().V;
        Assert.Equal("elena", history[0][1].GetString()); // the actor is the login, as with Basic

        var sessions = (await bearer.GetReplyAsync("/_sess")).IsOk().V;
        var mine = sessions.EnumerateArray().Single(s => s.GetProperty("sid").GetString() == sid);
        Assert.True(mine.GetProperty("current").GetBoolean());
        Assert.False(mine.TryGetProperty("refresh", out _));

        // Refresh: a new access token and refresh token; the old refresh token is spent.
        var renewed = (await anonymous.PostReplyAsync("/_sess/refresh", JsonSerializer.Serialize(new { refresh_token = refresh }))).IsOk().V;
        Assert.NotEqual(refresh, renewed.GetProperty("refresh_token").GetString());
        Assert.Equal(sid, renewed.GetProperty("session").GetString());
        (await anonymous.PostReplyAsync("/_sess/refresh", JsonSerializer.Serialize(new { refresh_token = refresh }))).IsError("unauthorized", HttpStatusCode.Unauthorized);
        using var renewedBearer = Bearer(renewed.GetProperty("access_token").GetString()!);
        (await renewedBearer.GetReplyAsync("/_data/sess-test?k=a")).IsOk();

        Assert.Equal(1, (await basic.DeleteReplyAsync("/_sess?k=" + sid)).IsOk().V.GetInt32());
        (await bearer.GetReplyAsync("/_data/sess-test?k=a")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await renewedBearer.GetReplyAsync("/_data/sess-test?k=a")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await anonymous.PostReplyAsync("/_sess/refresh", JsonSerializer.Serialize(new { refresh_token = renewed.GetProperty("refresh_token").GetString() })))
            .IsError("unauthorized", HttpStatusCode.Unauthorized);
        Assert.Equal(0, (await basic.DeleteReplyAsync("/_sess?k=" + sid)).IsOk().V.GetInt32());
    }

    [Fact]
    public async Task Signal_tokens_minted_under_a_session_die_with_it()
    {
        using var anonymous = fixture.Server.Client();
        var grant = (await anonymous.PostReplyAsync("/_sess", Login("elena", RealtimeServerFixture.ElenaPassword))).IsOk().V;
        using var bearer = Bearer(grant.GetProperty("access_token").GetString()!);
        var forever = (await bearer.PutReplyAsync("/_token/room?k=session-user&expire=0")).IsOk().V.GetString()!;
        var signalUri = await fixture.SignalUriAsync(forever);
        await using (var before = await SignalClient.ConnectAsync(signalUri))
            Assert.Equal("peers", (await before.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
        // One minted with Basic credentials belongs to no session and is not affected.
        var unbound = await fixture.TokenAsync("room", "basic-user");

        using var elena = fixture.Elena();
        Assert.Equal(1, (await elena.DeleteReplyAsync("/_sess?k=" + grant.GetProperty("session").GetString())).IsOk().V.GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(signalUri));
        await using var still = await SignalClient.ConnectAsync(await fixture.SignalUriAsync(unbound));
        Assert.Equal("peers", (await still.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
    }

    [Fact]
    public async Task Bad_logins_and_bodies_are_refused()
    {
        using var anonymous = fixture.Server.Client();
        (await anonymous.PostReplyAsync("/_sess", Login("elena", "wrong"))).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await anonymous.PostReplyAsync("/_sess", Login("nobody", "x"))).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await anonymous.PostReplyAsync("/_sess", "{not json")).IsError("bad_json", HttpStatusCode.BadRequest);
        (await anonymous.PostReplyAsync("/_sess", """{"k":"elena"}""")).IsError("bad_param", HttpStatusCode.BadRequest);
        (await anonymous.PostReplyAsync("/_sess/refresh", """{"refresh_token":"x.y.z"}""")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await anonymous.GetReplyAsync("/_sess")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        using var forged = Bearer("eyJhbGciOiJIUzI1NiJ9.e30.x");
        (await forged.GetReplyAsync("/_data/x?k=a")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Tokens_of_a_deactivated_account_stop_working_for_joins_and_watches()
    {
        var server = fixture.Server;
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "zoe", "zoe password 1");
        using var zoe = server.Client("zoe", secret);
        (await zoe.PutReplyAsync("/_ns/room")).IsOk();
        var token = (await zoe.PutReplyAsync("/_token/room?k=z")).IsOk().V.GetString()!;
        using var anonymous = server.Client();
        var access = (await anonymous.PostReplyAsync("/_sess", Login("zoe", "zoe password 1"))).IsOk().V.GetProperty("access_token").GetString()!;
        var signalUri = await fixture.SignalUriAsync(token);
        await using (var before = await SignalClient.ConnectAsync(signalUri))
            Assert.Equal("peers", (await before.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());

        using var sys = server.SystemClient();
        (await sys.PostReplyAsync("/_acc/accounts", """{"k":"zoe","v":{"active":false}}""")).IsOk();
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(signalUri));
        var watchUri = new Uri(server.BaseAddress.ToString().Replace("http://", "ws://") + "ws/watch?l=data&path=&access_token=" + access);
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(watchUri));
        using var bearer = Bearer(access);
        (await bearer.GetReplyAsync("/_ns")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_signal_token_as_a_bearer_only_finds_its_host_and_sees_its_channel()
    {
        using var elena = fixture.Elena();
        (await elena.PutReplyAsync("/_data/secret", """{"k":"plan","v":"do not leak"}""")).IsOk();
        await using var member = await fixture.JoinAsync("scope", "alice");
        await member.NextAsync();

        using var bearer = Bearer(await fixture.TokenAsync("scope", "bob"));
        // What a browser holding the token needs: where to connect and who is on its channel (and below).
        Assert.StartsWith("ws://", (await bearer.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString());
        Assert.Equal(["alice"], (await bearer.GetReplyAsync("/_subs/scope/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        (await bearer.GetReplyAsync("/_subs/scope/sub")).IsOk();
        // Nothing of the issuer's powers: no data, no namespace, no accounts, no new tokens, no kicks, no other channel.
        (await bearer.GetReplyAsync("/_data/secret?k=plan")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.GetReplyAsync("/_data/secret?watch=1")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.PutReplyAsync("/_data/secret", """{"k":"plan","v":"overwritten"}""")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.GetReplyAsync("/_ns")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.GetReplyAsync("/_acc/accounts")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.PutReplyAsync("/_token/scope?k=mallory&expire=0")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.DeleteReplyAsync("/_subs/scope/topic?k=alice")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.GetReplyAsync("/_subs/other")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await bearer.GetReplyAsync("/_subs")).IsError("forbidden", HttpStatusCode.Forbidden);
        Assert.Equal("do not leak", (await elena.GetReplyAsync("/_data/secret?k=plan")).IsOk().V.GetString());
        Assert.Equal(["alice"], (await elena.GetReplyAsync("/_subs/scope/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));

        // The watch socket applies the same scope.
        var token = await fixture.TokenAsync("scope", "bob");
        var wsBase = fixture.Server.BaseAddress.ToString().Replace("http://", "ws://");
        Assert.Equal(HttpStatusCode.Forbidden, await SignalClient.RefusalAsync(new Uri(wsBase + "ws/watch?l=data&path=&access_token=" + token)));
        Assert.Equal(HttpStatusCode.Forbidden, await SignalClient.RefusalAsync(new Uri(wsBase + "ws/watch?l=subs&path=other&access_token=" + token)));
        await using var presenceWatch = await SignalClient.ConnectAsync(new Uri(wsBase + "ws/watch?l=subs&path=scope&access_token=" + token));
        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, presenceWatch.Socket.State);
    }
}
