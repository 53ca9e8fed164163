using System.Text.Json;
using Kv4.Tests.Server;
using Kv4.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Realtime;

/// <summary>
/// A real browser on the signal protocol: headless Chromium (Debian's `chromium`) loads a page
/// served by the test server; the page joins a channel with a standard `WebSocket` (pinging every 800 ms like the
/// Xirsys client) and answers a .NET client's message. The test drives and reads the page over the DevTools protocol.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BrowserSignalTests
{
    private const string PagePath = "/test/signal-page.html";

    private const string Page = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>kv4 signal</title></head><body>
        <script>
        window.result = { open: false, frames: [], sent: 0, closed: null };
        const ws = new WebSocket(new URLSearchParams(location.search).get('ws'));
        ws.onopen = () => { result.open = true; setInterval(() => ws.send('ping'), 800); };
        ws.onclose = e => { result.closed = e.code; };
        ws.onmessage = e => {
          const pkt = JSON.parse(e.data);           // every frame is JSON, as xirsys-signal.js assumes
          result.frames.push(pkt);
          if (pkt.m.o === 'message' && pkt.p && pkt.p.msg === 'hello browser') {
            const from = pkt.m.f.split('/').pop();  // the peer name is the last part of m.f
            ws.send(JSON.stringify({ t: 'u', m: { f: '/whatever/forged', o: 'message', t: from }, p: { msg: 'hello dotnet' } }));
            result.sent++;
          }
        };
        </script></body></html>
        """;

    [ToolFact("chromium")]
    public async Task A_page_in_headless_chromium_joins_and_exchanges_messages_with_a_dotnet_client()
    {
        var chromium = ExternalTool.Require("chromium");

        await using var server = await Kv4TestServer.StartAsync(RealtimeServerFixture.RealtimeArgs(), ServePage);
        var setup = new RealtimeServerFixtureOn(server);
        await setup.SetUpAsync();

        await using var dotnet = await setup.JoinAsync("room", "dotnet");
        Assert.Equal("peers", (await dotnet.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());

        using var elena = setup.Elena();
        var token = (await elena.PutReplyAsync("/_token/room?k=browser")).IsOk().V.GetString()!;
        var host = (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;
        var pageUrl = new Uri(server.BaseAddress, PagePath + "?ws=" + Uri.EscapeDataString(host + "/v2/" + token));

        await using var browser = await HeadlessChromium.StartAsync(chromium, pageUrl);

        Assert.Equal("""{"m":{"o":"peer_connected","f":"/room/browser"}}""", await dotnet.NextAsync());
        await dotnet.SendAsync("""{"t":"u","m":{"f":"/room/dotnet","o":"message","t":"browser"},"p":{"msg":"hello browser"}}""");
        // The browser's answer: the server replaced the page's forged m.f with the token's user.
        Assert.Equal("""{"t":"u","m":{"f":"/room/browser","o":"message","t":"dotnet"},"p":{"msg":"hello dotnet"}}""", await dotnet.NextAsync());

        var result = await browser.EvaluateJsonAsync("JSON.stringify(window.result)");
        Assert.True(result.GetProperty("open").GetBoolean());
        Assert.Equal(1, result.GetProperty("sent").GetInt32());
        var frames = result.GetProperty("frames").EnumerateArray().ToArray();
        Assert.Equal("peers", frames[0].GetProperty("m").GetProperty("o").GetString());
        Assert.Equal("/room/__sys__", frames[0].GetProperty("m").GetProperty("f").GetString());
        Assert.Equal(["browser", "dotnet"], frames[0].GetProperty("p").GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        var message = frames.Single(f => f.GetProperty("m").GetProperty("o").GetString() == "message");
        Assert.Equal("/room/dotnet", message.GetProperty("m").GetProperty("f").GetString());
        Assert.Equal("hello browser", message.GetProperty("p").GetProperty("msg").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("closed").ValueKind);
    }

    private static void ServePage(WebApplicationBuilder builder) =>
        builder.Services.AddTransient<IStartupFilter>(_ => new PageFilter());

    private sealed class PageFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Path == PagePath)
                {
                    context.Response.ContentType = "text/html; charset=utf-8";
                    await context.Response.WriteAsync(Page);
                    return;
                }
                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
