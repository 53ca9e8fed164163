using System.Text.Json;
using Kv4.Tests.Server;
using Kv4.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Kv4.Tests.Realtime;

/// <summary>
/// A page on another origin calls the API the way the Xirsys browser client's `{ident, secret}` option does:
/// headless Chromium loads it from a second Kestrel (its own port, so its own origin); the page mints a token with
/// `PUT /_token/room`, asks `GET /_host?type=signal`, both with Basic credentials through `fetch`, opens the signal
/// WebSocket with the token, and posts what it saw back to its own server, where the test reads it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BrowserSignalCorsTests
{
    private const string PagePath = "/cors-page.html";

    private const string Page = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>kv4 cors</title></head><body>
        <script>
        const q = new URLSearchParams(location.search);
        const api = q.get('api');
        const auth = { Authorization: 'Basic ' + btoa(q.get('ident') + ':' + q.get('secret')) };
        const result = { token: null, host: null, frame: null, error: null };
        const report = () => fetch('/result', { method: 'POST', body: JSON.stringify(result) });
        (async () => {
          try {
            const minted = await (await fetch(api + '/_token/room?k=browser', { method: 'PUT', headers: auth })).json();
            result.token = minted.s;
            const host = await (await fetch(api + '/_host?type=signal', { headers: auth })).json();
            result.host = host.s;
            const ws = new WebSocket(host.v + '/v2/' + minted.v);
            ws.onmessage = e => { result.frame = JSON.parse(e.data); ws.close(); report(); };
            ws.onerror = () => { result.error = 'websocket error'; report(); };
          } catch (e) {
            result.error = String(e);
            report();
          }
        })();
        </script></body></html>
        """;

    [ToolFact("chromium")]
    public async Task A_page_on_a_configured_origin_mints_a_token_finds_the_host_and_joins()
    {
        var result = await RunPageAsync(allowPageOrigin: true);
        Assert.Equal(JsonValueKind.Null, result.GetProperty("error").ValueKind);
        Assert.Equal("ok", result.GetProperty("token").GetString());
        Assert.Equal("ok", result.GetProperty("host").GetString());
        var frame = result.GetProperty("frame");
        Assert.Equal("peers", frame.GetProperty("m").GetProperty("o").GetString());
        Assert.Equal("/room/__sys__", frame.GetProperty("m").GetProperty("f").GetString());
        Assert.Contains("browser", frame.GetProperty("p").GetProperty("users").EnumerateArray().Select(u => u.GetString()));
    }

    [ToolFact("chromium")]
    public async Task Without_the_origin_configured_the_same_page_cannot_fetch()
    {
        var result = await RunPageAsync(allowPageOrigin: false);
        Assert.StartsWith("TypeError", result.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("token").ValueKind);
        Assert.Equal(JsonValueKind.Null, result.GetProperty("frame").ValueKind);
    }

    private static async Task<JsonElement> RunPageAsync(bool allowPageOrigin)
    {
        var chromium = ExternalTool.Require("chromium");

        var reported = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pageServer = await StartPageServerAsync(reported);
        var pageOrigin = pageServer.Origin;

        string[] args = [.. RealtimeServerFixture.RealtimeArgs(), .. allowPageOrigin ? new[] { $"--Kv4:Cors:Origins:0={pageOrigin}" } : []];
        await using var api = await Kv4TestServer.StartAsync(args);
        var secret = await RealtimeServerFixture.CreateAccountAsync(api, "elena", RealtimeServerFixture.ElenaPassword);
        using (var elena = api.Client("elena", secret)) (await elena.PutReplyAsync("/_ns/room")).IsOk();

        var apiBase = api.BaseAddress.ToString().TrimEnd('/');
        var pageUrl = new Uri($"{pageOrigin}{PagePath}?api={Uri.EscapeDataString(apiBase)}&ident=elena&secret={Uri.EscapeDataString(secret)}");
        await using var browser = await HeadlessChromium.StartAsync(chromium, pageUrl);
        var json = await reported.Task.WaitAsync(TimeSpan.FromSeconds(90));
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>The page's own origin: serves the page and takes its report.</summary>
    private static Task<PageServer> StartPageServerAsync(TaskCompletionSource<string> reported) =>
        PageServer.StartAsync(PagePath, Page, app => app.MapPost("/result", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            reported.TrySetResult(await reader.ReadToEndAsync());
            return Results.NoContent();
        }));
}
