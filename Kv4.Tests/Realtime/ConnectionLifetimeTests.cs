using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Kv4.Server.Authentication;
using Kv4.Services.Api;
using Kv4.Services.Tokens;
using Kv4.Tests.Server;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Realtime;

/// <summary>
/// Live connections belong to the identity that admitted them. Each test holds all four kinds open as carol — an SSE
/// watch with Basic credentials, one with a `_sess` bearer, a WebSocket watch, a signal socket — on a real server, then
/// takes carol's standing away the way an operator would, and checks that every one of them ends with a clear code
/// and that nothing written afterwards (least of all by a new carol) reaches them.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ConnectionLifetimeTests
{
    private const string Password = "carol password 1";

    [Fact]
    public async Task Deleting_an_account_ends_its_streams_and_sockets_and_nothing_of_a_recreated_namesake_reaches_them()
    {
        await using var server = await StartAsync();
        var carol = await Carol.CreateAsync(server);
        var oldToken = await carol.TokenAsync("room", "olduser", expireZero: true);
        await using var held = await carol.OpenAllAsync("room");

        using var sys = server.SystemClient();
        (await sys.DeleteReplyAsync("/_acc/accounts?k=carol")).IsOk();
        var reborn = await Carol.CreateAsync(server);

        // The old connections ended with `unauthorized`; none carries what the new carol writes.
        await held.AssertEndedAsync("unauthorized");
        (await reborn.Basic.PutReplyAsync("/_data/private", """{"k":"newsecret","v":"NEW-TENANT-DATA"}""")).IsOk();
        Assert.DoesNotContain("NEW-TENANT-DATA", held.EverythingReceived());

        // A new user of the new carol's channel is alone in it, and `_subs` agrees.
        await using var newcomer = await SignalClient.ConnectAsync(await reborn.SignalUriAsync(await reborn.TokenAsync("room", "newuser")));
        var peers = await newcomer.NextJsonAsync();
        Assert.Equal("peers", peers.GetProperty("m").GetProperty("o").GetString());
        Assert.Equal(["newuser"], peers.GetProperty("p").GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(["newuser"], (await reborn.Basic.GetReplyAsync("/_subs/room/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));

        // The old carol's `expire=0` token opens nothing of the new carol's: REST, signal join, watch.
        using var oldBearer = server.Client();
        oldBearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", oldToken);
        (await oldBearer.GetReplyAsync("/_subs/room")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(await reborn.SignalUriAsync(oldToken)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(WsWatch(server, "subs", "room", "&access_token=" + oldToken)));
    }

    [Fact]
    public async Task Revoking_the_session_ends_the_streams_and_sockets_it_opened()
    {
        await using var server = await StartAsync();
        var carol = await Carol.CreateAsync(server);
        using var bearer = server.Client();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", carol.AccessToken);
        // A signal token minted under the session, and a watch socket opened with the session's bearer.
        var token = (await bearer.PutReplyAsync("/_token/room?k=alice&expire=0")).IsOk().V.GetString()!;
        var sse = await SseStream.OpenAsync(bearer, "/_data?watch=1");
        await using var socket = await SignalClient.ConnectAsync(await carol.SignalUriAsync(token));
        await using var ws = await SignalClient.ConnectAsync(WsWatch(server, "data", "", "&access_token=" + carol.AccessToken));
        Assert.Equal("peers", (await socket.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());

        (await carol.Basic.DeleteReplyAsync("/_sess?k=" + carol.SessionId)).IsOk();

        Assert.Equal("unauthorized", await sse.EndAsync());
        Assert.Equal((WebSocketCloseStatus.PolicyViolation, "unauthorized"), await socket.WaitClosedAsync());
        Assert.Equal((WebSocketCloseStatus.PolicyViolation, "unauthorized"), await ws.WaitClosedAsync());
        (await bearer.GetReplyAsync("/_data?k=x")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        // The Basic login was not that session: its own stream lives on.
        var basic = await SseStream.OpenAsync(carol.Basic, "/_data?watch=1");
        (await carol.Basic.PutReplyAsync("/_data/after", """{"k":"a","v":1}""")).IsOk();
        Assert.Contains("\"after\"", await basic.NextDataAsync());
        basic.Dispose();
    }

    [Fact]
    public async Task Deactivating_an_account_ends_its_connections()
    {
        await using var server = await StartAsync();
        var carol = await Carol.CreateAsync(server);
        await using var held = await carol.OpenAllAsync("room");
        using var sys = server.SystemClient();
        (await sys.PostReplyAsync("/_acc/accounts", """{"k":"carol","v":{"active":false}}""")).IsOk();
        await held.AssertEndedAsync("unauthorized");
    }

    [Fact]
    public async Task A_new_secret_or_password_ends_the_connections_opened_with_the_old_one()
    {
        await using var server = await StartAsync();
        var carol = await Carol.CreateAsync(server);
        await using var held = await carol.OpenAllAsync("room");
        using var sys = server.SystemClient();
        var fresh = (await sys.PostReplyAsync("/_acc/accounts", """{"k":"carol","v":{"secret":true}}""")).IsOk().V.GetProperty("secret").GetString()!;
        await held.AssertEndedAsync("unauthorized");

        // Opened with the new secret, a stream survives a profile change but not a new password.
        using var renewed = server.Client("carol", fresh);
        var stream = await SseStream.OpenAsync(renewed, "/_data?watch=1");
        (await sys.PostReplyAsync("/_acc/accounts", """{"k":"carol","v":{"name":"Carol C."}}""")).IsOk();
        (await renewed.PutReplyAsync("/_data/p", """{"k":"a","v":1}""")).IsOk();
        Assert.Contains("\"p\"", await stream.NextDataAsync());
        (await sys.PostReplyAsync("/_acc/accounts", """{"k":"carol","v":{"password":"another password"}}""")).IsOk();
        Assert.Equal("unauthorized", await stream.EndAsync());
    }

    [Fact]
    public async Task A_deny_rule_that_now_covers_a_connection_ends_it_as_forbidden()
    {
        await using var server = await StartAsync();
        var carol = await Carol.CreateAsync(server);
        var sse = await SseStream.OpenAsync(carol.Basic, "/_data?watch=1");
        await using var socket = await SignalClient.ConnectAsync(await carol.SignalUriAsync(await carol.TokenAsync("rooms/lobby", "alice")));
        Assert.Equal("peers", (await socket.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
        var elsewhere = await SseStream.OpenAsync(carol.Basic, "/_data/public?watch=1");

        // The rule covers `rooms` and below, in every layer: the root watch (whose subtree holds it) and the socket in
        // rooms/lobby end; a watch of another subtree does not.
        (await carol.Basic.PutReplyAsync("/_auth/rooms", """{"k":"127.0.0.1"}""")).IsOk();
        Assert.Equal("forbidden", await sse.EndAsync());
        Assert.Equal((WebSocketCloseStatus.PolicyViolation, "forbidden"), await socket.WaitClosedAsync());
        (await carol.Basic.PutReplyAsync("/_data/public", """{"k":"still","v":1}""")).IsOk();
        Assert.Contains("\"still\"", await elsewhere.NextDataAsync());
        elsewhere.Dispose();
    }

    [Fact]
    public async Task A_token_past_its_expiry_and_the_5_s_skew_is_refused_by_every_door()
    {
        await using var server = await StartAsync();
        var carol = await Carol.CreateAsync(server);
        // A real token's standing, on a token that expired 10 s ago (inside a 30 s skew, outside the 5 s one).
        var real = await carol.TokenAsync("room", "alice");
        var issuer = Kv4Claims.ToCaller(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(real).Claims)!;
        var key = server.Services.GetRequiredService<JwtSigningKey>();
        var expired = new TokenAuthority(key.Credentials, key.ValidationParameters(), clock: new ShiftedClock(TimeSpan.FromSeconds(-11)))
            .IssueSignalToken(issuer with { Signal = null }, "alice", "room", TimeSpan.FromSeconds(1));

        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(await carol.SignalUriAsync(expired)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(WsWatch(server, "subs", "room", "&access_token=" + expired)));
        using var bearer = server.Client();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", expired);
        (await bearer.GetReplyAsync("/_subs/room")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        // The same token minted now is accepted by each: the refusal above is the expiry, not the token's form.
        var fresh = new TokenAuthority(key.Credentials, key.ValidationParameters()).IssueSignalToken(issuer with { Signal = null }, "alice", "room", TimeSpan.FromMinutes(1));
        await using var joined = await SignalClient.ConnectAsync(await carol.SignalUriAsync(fresh));
        Assert.Equal("peers", (await joined.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
    }

    private static Task<Kv4TestServer> StartAsync() => Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs());

    private static Uri WsWatch(Kv4TestServer server, string layer, string path, string extra = "") =>
        new(new Uri(server.BaseAddress, $"/ws/watch?l={layer}&path={path}{extra}").ToString().Replace("http://", "ws://"));

    private sealed class ShiftedClock(TimeSpan by) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + by;
    }

    /// <summary>Account carol with a password, her Basic client, and a `_sess` login.</summary>
    private sealed class Carol
    {
        private Carol(Kv4TestServer server, HttpClient basic, string accessToken, string sessionId)
        {
            Server = server;
            Basic = basic;
            AccessToken = accessToken;
            SessionId = sessionId;
        }

        public Kv4TestServer Server { get; }

        public HttpClient Basic { get; }

        public string AccessToken { get; }

        public string SessionId { get; }

        public static async Task<Carol> CreateAsync(Kv4TestServer server)
        {
            var secret = await RealtimeServerFixture.CreateAccountAsync(server, "carol", Password);
            var basic = server.Client("carol", secret);
            foreach (var channel in new[] { "room", "rooms/lobby" }) (await basic.PutReplyAsync("/_ns/" + channel)).IsOk();
            using var anonymous = server.Client();
            var grant = (await anonymous.PostReplyAsync("/_sess", JsonSerializer.Serialize(new { k = "carol", v = new { password = Password } }))).IsOk().V;
            return new Carol(server, basic, grant.GetProperty("access_token").GetString()!, grant.GetProperty("session").GetString()!);
        }

        public async Task<string> TokenAsync(string channel, string user, bool expireZero = false) =>
            (await Basic.PutReplyAsync($"/_token/{channel}?k={user}" + (expireZero ? "&expire=0" : ""))).IsOk().V.GetString()!;

        public async Task<Uri> SignalUriAsync(string token)
        {
            var host = (await Basic.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;
            return new Uri(host + "/v2/" + token);
        }

        /// <summary>The four kinds of live connection, each proven live before it is returned.</summary>
        public async Task<Held> OpenAllAsync(string channel)
        {
            var sseBasic = await SseStream.OpenAsync(Basic, "/_data?watch=1");
            var bearer = Server.Client();
            bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
            var sseBearer = await SseStream.OpenAsync(bearer, "/_data?watch=1");
            var ws = await SignalClient.ConnectAsync(WsWatch(Server, "data", ""),
                o => o.SetRequestHeader("Authorization", Basic.DefaultRequestHeaders.Authorization!.ToString()));
            var socket = await SignalClient.ConnectAsync(await SignalUriAsync(await TokenAsync(channel, "olduser")));
            Assert.Equal("peers", (await socket.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());

            (await Basic.PutReplyAsync("/_data/probe", """{"k":"before","v":"BEFORE"}""")).IsOk();
            Assert.Contains("BEFORE", await sseBasic.NextDataAsync());
            Assert.Contains("BEFORE", await sseBearer.NextDataAsync());
            Assert.Contains("BEFORE", await ws.NextAsync());
            return new Held(sseBasic, sseBearer, bearer, ws, socket);
        }
    }

    private sealed class Held(SseStream sseBasic, SseStream sseBearer, HttpClient bearer, SignalClient ws, SignalClient socket) : IAsyncDisposable
    {
        private readonly List<string> _received = [];

        public async Task AssertEndedAsync(string code)
        {
            Assert.Equal(code, await sseBasic.EndAsync());
            Assert.Equal(code, await sseBearer.EndAsync());
            Assert.Equal((WebSocketCloseStatus.PolicyViolation, code), await ws.WaitClosedAsync());
            Assert.Equal((WebSocketCloseStatus.PolicyViolation, code), await socket.WaitClosedAsync());
        }

        /// <summary>Every frame and event any of them got after the probe (they have all ended by now).</summary>
        public string EverythingReceived()
        {
            _received.AddRange(sseBasic.Received);
            _received.AddRange(sseBearer.Received);
            while (ws.TryPeekQueued(out var frame)) _received.Add(frame);
            while (socket.TryPeekQueued(out var frame)) _received.Add(frame);
            return string.Join("\n", _received);
        }

        public async ValueTask DisposeAsync()
        {
            sseBasic.Dispose();
            sseBearer.Dispose();
            bearer.Dispose();
            await ws.DisposeAsync();
            await socket.DisposeAsync();
        }
    }

    /// <summary>An open SSE watch, read event by event.</summary>
    private sealed class SseStream : IDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;

        private SseStream(HttpResponseMessage response, StreamReader reader)
        {
            _response = response;
            _reader = reader;
        }

        public List<string> Received { get; } = [];

        public static async Task<SseStream> OpenAsync(HttpClient client, string target)
        {
            var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, target), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return new SseStream(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
        }

        /// <summary>The next change's data.</summary>
        public async Task<string> NextDataAsync()
        {
            var (name, data) = await NextEventAsync() ?? throw new EndOfStreamException("the stream ended");
            Assert.Null(name);
            return data;
        }

        /// <summary>Reads to the end: the error code of the final `event: error`, after no other change.</summary>
        public async Task<string> EndAsync()
        {
            string? code = null;
            while (await NextEventAsync() is var (name, data))
            {
                if (name == "error") code = JsonDocument.Parse(data).RootElement.GetProperty("v").GetString();
                else Received.Add(data);
            }
            Assert.NotNull(code);
            return code;
        }

        private async Task<(string? Name, string Data)?> NextEventAsync()
        {
            using var timeout = new CancellationTokenSource(SignalClient.Wait);
            string? name = null, data = null;
            while (true)
            {
                var line = await _reader.ReadLineAsync(timeout.Token);
                if (line is null) return null;
                if (line.Length == 0)
                {
                    if (data is not null) return (name, data);
                    continue;
                }
                if (line[0] == ':') continue;
                var colon = line.IndexOf(':');
                var field = line[..colon];
                var value = line[(colon + 1)..].TrimStart();
                if (field == "event") name = value;
                else if (field == "data") data = value;
            }
        }

        public void Dispose()
        {
            _reader.Dispose();
            _response.Dispose();
        }
    }
}
