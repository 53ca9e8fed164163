using System.Net;
using System.Text.Json;
using Kv4.Tests.Support;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Two users in two headless Chromium browsers, each with its signal socket on a different node of a three-node
/// cluster of real processes. The page speaks the signal protocol the way the Xirsys browser client does (a standard
/// `WebSocket`, a `ping` every 800 ms, every frame parsed as JSON, the peer's name from the last part of `m.f`) and
/// greets its peer with a direct message as soon as it sees it. Each sees the other (`peers`, `peer_connected`) and
/// gets the other's greeting.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterBrowserSignalTests : IAsyncLifetime
{
    private const string PagePath = "/peer.html";

    private const string Page = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>kv4 peer</title></head><body>
        <script>
        const q = new URLSearchParams(location.search);
        const me = q.get('me'), peer = q.get('peer');
        window.result = { open: false, frames: [], greeted: false, closed: null };
        const ws = new WebSocket(q.get('ws'));
        const greet = () => {
          if (result.greeted) return;
          ws.send(JSON.stringify({ t: 'u', m: { f: '/room/' + me, o: 'message', t: peer }, p: { msg: 'hello from ' + me } }));
          result.greeted = true;
        };
        ws.onopen = () => { result.open = true; setInterval(() => ws.send('ping'), 800); };
        ws.onclose = e => { result.closed = e.code; };
        ws.onmessage = e => {
          const pkt = JSON.parse(e.data);
          result.frames.push(pkt);
          if (pkt.m.o === 'peers' && pkt.p.users.includes(peer)) greet();
          if (pkt.m.o === 'peer_connected' && pkt.m.f.split('/').pop() === peer) greet();
        };
        </script></body></html>
        """;

    private ClusterProcesses _cluster = null!;
    private PageServer _pages = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(3);
        _secret = await _cluster.CreateAccountAsync("elena");
        Assert.Equal(HttpStatusCode.OK, (await _cluster.SendAsync("n1", HttpMethod.Put, "/_ns/room", user: "elena", secret: _secret)).Status);
        _pages = await PageServer.StartAsync(PagePath, Page);
    }

    public async Task DisposeAsync()
    {
        await _pages.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    /// <summary>A browser whose page joins `room` as <paramref name="me"/> with its socket (and token) on <paramref name="node"/>.</summary>
    private async Task<HeadlessChromium> OpenAsync(string chromium, string node, string me, string peer)
    {
        var (status, token) = await _cluster.SendAsync(node, HttpMethod.Put, $"/_token/room?k={me}", user: "elena", secret: _secret);
        Assert.Equal(HttpStatusCode.OK, status);
        var ws = $"ws://127.0.0.1:{_cluster[node].HttpPort}/ws/v2/{token.GetProperty("v").GetString()}";
        return await HeadlessChromium.StartAsync(chromium, new Uri($"{_pages.Origin}{PagePath}?me={me}&peer={peer}&ws={Uri.EscapeDataString(ws)}"));
    }

    private static async Task<JsonElement[]> FramesAsync(HeadlessChromium browser) =>
        [.. (await browser.EvaluateJsonAsync("JSON.stringify(window.result.frames)")).EnumerateArray()];

    [ToolFact("chromium")]
    public async Task Two_browsers_on_two_nodes_see_each_other_and_exchange_messages()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var alice = await OpenAsync(chromium, "n1", "alice", "bob");
        await alice.WaitForAsync("window.result.frames.length >= 1");
        await using var bob = await OpenAsync(chromium, "n2", "bob", "alice");

        const string greeted = "window.result.frames.some(f => f.m.o === 'message')";
        await alice.WaitForAsync(greeted);
        await bob.WaitForAsync(greeted);

        var aliceFrames = await FramesAsync(alice);
        Assert.Equal(["peers", "peer_connected", "message"], aliceFrames.Select(f => f.GetProperty("m").GetProperty("o").GetString()));
        Assert.Equal(["alice"], aliceFrames[0].GetProperty("p").GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal("/room/bob", aliceFrames[1].GetProperty("m").GetProperty("f").GetString());
        Assert.Equal("/room/bob", aliceFrames[2].GetProperty("m").GetProperty("f").GetString());
        Assert.Equal("alice", aliceFrames[2].GetProperty("m").GetProperty("t").GetString());
        Assert.Equal("hello from bob", aliceFrames[2].GetProperty("p").GetProperty("msg").GetString());

        var bobFrames = await FramesAsync(bob);
        Assert.Equal(["peers", "message"], bobFrames.Select(f => f.GetProperty("m").GetProperty("o").GetString()));
        Assert.Equal(["alice", "bob"], bobFrames[0].GetProperty("p").GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal("/room/alice", bobFrames[1].GetProperty("m").GetProperty("f").GetString());
        Assert.Equal("hello from alice", bobFrames[1].GetProperty("p").GetProperty("msg").GetString());

        foreach (var browser in new[] { alice, bob })
        {
            var result = await browser.EvaluateJsonAsync("JSON.stringify(window.result)");
            Assert.True(result.GetProperty("open").GetBoolean());
            Assert.Equal(JsonValueKind.Null, result.GetProperty("closed").ValueKind);
            Assert.True(browser.ConsoleErrors.Count == 0, string.Join("\n", browser.ConsoleErrors));
        }
    }
}
