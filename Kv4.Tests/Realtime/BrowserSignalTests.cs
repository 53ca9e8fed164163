using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
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

/// <summary>
/// Headless Chromium started by the test with its own throw-away profile, driven over the DevTools protocol
/// (HTTP /json/list to find the page, then a WebSocket for Runtime.evaluate). Killed and cleaned up on dispose.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _devtools = new();
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync(string executable, Uri page)
    {
        var profile = Directory.CreateTempSubdirectory("kv4-chromium-").FullName;
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + profile, "--remote-debugging-port=0", page.ToString(),
                 })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.AttachAsync(page);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task AttachAsync(Uri page)
    {
        // Chromium writes the port it chose to <profile>/DevToolsActivePort.
        var portFile = Path.Combine(_profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string? port = null;
        while (port is null)
        {
            if (_process.HasExited) throw new InvalidOperationException("chromium exited with " + _process.ExitCode);
            if (DateTime.UtcNow > deadline) throw new TimeoutException("chromium did not open its DevTools port");
            if (File.Exists(portFile) && (await File.ReadAllLinesAsync(portFile)) is [var first, ..] && first.Length > 0) port = first;
            else await Task.Delay(100);
        }
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        string? debuggerUrl = null;
        while (debuggerUrl is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("chromium did not list the page");
            using var targets = JsonDocument.Parse(await http.GetStringAsync("/json/list"));
            debuggerUrl = targets.RootElement.EnumerateArray()
                .Where(t => t.GetProperty("type").GetString() == "page" && t.GetProperty("url").GetString()!.Contains(page.AbsolutePath))
                .Select(t => t.GetProperty("webSocketDebuggerUrl").GetString())
                .FirstOrDefault();
            if (debuggerUrl is null) await Task.Delay(100);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _devtools.ConnectAsync(new Uri(debuggerUrl), timeout.Token);
    }

    /// <summary>Evaluates an expression that yields a JSON string in the page and parses it.</summary>
    public async Task<JsonElement> EvaluateJsonAsync(string expression)
    {
        var id = Interlocked.Increment(ref _nextId);
        var request = JsonSerializer.SerializeToUtf8Bytes(new { id, method = "Runtime.evaluate", @params = new { expression, returnByValue = true } });
        await _devtools.SendAsync(request, WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[1 << 20];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var length = 0;
            WebSocketReceiveResult result;
            do
            {
                result = await _devtools.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), timeout.Token);
                length += result.Count;
            } while (!result.EndOfMessage);
            using var reply = JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, length));
            if (!reply.RootElement.TryGetProperty("id", out var replyId) || replyId.GetInt32() != id) continue; // an event
            var value = reply.RootElement.GetProperty("result").GetProperty("result").GetProperty("value").GetString()!;
            return JsonDocument.Parse(value).RootElement.Clone();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_devtools.State == WebSocketState.Open)
                await _devtools.CloseAsync(WebSocketCloseStatus.NormalClosure, "", new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _devtools.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); }
        catch (IOException) { }
    }
}
