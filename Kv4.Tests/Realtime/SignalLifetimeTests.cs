using System.Net.WebSockets;
using Kv4.Tests.Server;

namespace Kv4.Tests.Realtime;

/// <summary>Signal sockets ended by the server: idle timeout, an unanswered close, node shutdown (each test on its own server).</summary>
[Trait("Category", "Integration")]
public sealed class SignalLifetimeTests
{
    [Fact]
    public async Task A_silent_connection_is_closed_after_the_idle_timeout_while_a_pinging_one_stays()
    {
        await using var server = await Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs(idleSeconds: 2));
        var fixture = new RealtimeServerFixtureOn(server);
        await fixture.SetUpAsync();

        await using var pinger = await fixture.JoinAsync("room", "pinger");
        // The Xirsys client pings every 800 ms; this one pings from its join on, so only the silent one times out.
        using var stop = new CancellationTokenSource();
        var pinging = KeepAliveAsync(pinger, stop.Token);
        await pinger.NextAsync();
        await using var silent = await fixture.JoinAsync("room", "silent");
        await silent.NextAsync();
        await pinger.NextAsync();

        var (status, description) = await silent.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.NormalClosure, status);
        Assert.Equal("idle timeout", description);
        Assert.Equal("""{"m":{"o":"peer_removed","f":"/room/silent"}}""", await pinger.NextAsync());
        await stop.CancelAsync();
        await pinging;
        Assert.Equal(WebSocketState.Open, pinger.Socket.State);
    }

    [Fact]
    public async Task A_member_cut_off_without_answering_the_close_is_out_of_subs_when_the_others_hear_peer_removed()
    {
        await using var server = await Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs(idleSeconds: 3));
        var fixture = new RealtimeServerFixtureOn(server);
        await fixture.SetUpAsync();
        using var elena = fixture.Elena();
        await using var pinger = await fixture.JoinAsync("room", "pinger");
        using var stop = new CancellationTokenSource();
        var pinging = KeepAliveAsync(pinger, stop.Token);
        await pinger.NextAsync();

        // Never sends and never reads: the server's close frame goes unanswered, so its close handshake waits for
        // seconds before the socket is aborted. The presence entry must not wait for that.
        using var mute = new ClientWebSocket();
        var token = (await elena.PutReplyAsync("/_token/room?k=mute")).IsOk().V.GetString()!;
        var host = (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;
        await mute.ConnectAsync(new Uri(host + "/v2/" + token), CancellationToken.None);
        Assert.Equal("""{"m":{"o":"peer_connected","f":"/room/mute"}}""", await pinger.NextAsync());
        Assert.Equal(["mute", "pinger"], (await elena.GetReplyAsync("/_subs/room/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));

        Assert.Equal("""{"m":{"o":"peer_removed","f":"/room/mute"}}""", await pinger.NextAsync());
        Assert.Equal(["pinger"], (await elena.GetReplyAsync("/_subs/room/topic")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
        await stop.CancelAsync();
        await pinging;
    }

    private static Task KeepAliveAsync(SignalClient client, CancellationToken stop) => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            await client.SendAsync("ping");
            try { await Task.Delay(300, stop); }
            catch (OperationCanceledException) { }
        }
    });

    [Fact]
    public async Task Stopping_the_node_closes_signal_sockets_with_going_away_and_ends_watch_streams()
    {
        await using var server = await Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs());
        var fixture = new RealtimeServerFixtureOn(server);
        await fixture.SetUpAsync();
        var member = await fixture.JoinAsync("room", "member");
        await member.NextAsync();
        using var elena = fixture.Elena();
        var response = await elena.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/_data/x?watch=1"), HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();

        await server.StopAsync();
        var (status, _) = await member.WaitClosedAsync();
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
        // The SSE body ends rather than hanging: reading to the end completes (or the connection is reset).
        using var reader = new StreamReader(stream);
        try { await reader.ReadToEndAsync().WaitAsync(SignalClient.Wait); }
        catch (IOException) { }
        await member.DisposeAsync();
        response.Dispose();
    }
}

/// <summary>Elena with channel "room" on a given server (for tests that need their own server options).</summary>
public sealed class RealtimeServerFixtureOn(Kv4TestServer server)
{
    private string _secret = "";

    public async Task SetUpAsync()
    {
        _secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", RealtimeServerFixture.ElenaPassword);
        using var elena = Elena();
        (await elena.PutReplyAsync("/_ns/room")).IsOk();
    }

    public HttpClient Elena() => server.Client("elena", _secret);

    public async Task<SignalClient> JoinAsync(string channel, string user)
    {
        using var elena = Elena();
        var token = (await elena.PutReplyAsync($"/_token/{channel}?k={user}")).IsOk().V.GetString()!;
        var host = (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;
        return await SignalClient.ConnectAsync(new Uri(host + "/v2/" + token));
    }
}
