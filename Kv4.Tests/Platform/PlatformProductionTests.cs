using System.Net;
using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Platform;

/// <summary>
/// The platform services in the production composition (the host's own runtime factory: real accounts, `_host`
/// from the realtime set with the platform's host directories, the generic SSE watch), over real HTTP.
/// </summary>
[Trait("Category", "Integration")]
public class PlatformProductionTests
{
    private static async Task<HttpClient> CreateAccountAsync(Kv4TestServer server, string name)
    {
        using var sys = server.SystemClient();
        var created = (await Reply.SendAsync(sys, HttpMethod.Put, "/_acc/accounts",
            $"{{\"k\":\"{name}\",\"v\":{{\"email\":\"{name}@example.com\"}}}}")).IsOk().V;
        return server.Client(name, created.GetProperty("secret").GetString()!);
    }

    [Fact]
    public async Task Turn_host_choice_external_forwarding_stats_and_cfg_watch_work_in_the_real_composition()
    {
        await using var server = await Kv4TestServer.StartAsync(
            ["--Kv4:Turn:Hosts:0=turn1.example.com", "--Kv4:Turn:Secret=prod-secret", "--Kv4:Stats:FlushSeconds=1"]);
        await using var ocr = await FakeServiceHost.StartAsync("ocr-1");
        using var elena = await CreateAccountAsync(server, "elena");
        using var sys = server.SystemClient();

        // _turn and _host?type=turn from the configured pool.
        var ice = (await Reply.SendAsync(elena, HttpMethod.Put, "/_turn/room")).IsOk().V.GetProperty("iceServers");
        // No ICE list configured: the Xirsys v3 set, STUN and TURN over UDP and TCP on 80 and 3478, TLS on 443 and 5349.
        Assert.Equal(["stun:turn1.example.com:3478", "turn:turn1.example.com:80?transport=udp", "turn:turn1.example.com:3478?transport=udp",
                "turn:turn1.example.com:80?transport=tcp", "turn:turn1.example.com:3478?transport=tcp",
                "turns:turn1.example.com:443?transport=tcp", "turns:turn1.example.com:5349?transport=tcp"],
            ice.EnumerateArray().Select(e => e.GetProperty("url").GetString()));
        Assert.EndsWith(":elena", ice[1].GetProperty("username").GetString());
        Assert.Equal("turn1.example.com:3478", (await Reply.SendAsync(elena, HttpMethod.Get, "/_host?type=turn")).IsOk().V.GetString());

        // An external service: unknown until registered, then forwarded and offered by _host.
        (await Reply.SendAsync(elena, HttpMethod.Get, "/_host?type=ocr")).IsError("unrecognized_type_param", HttpStatusCode.BadRequest);
        (await Reply.SendAsync(sys, HttpMethod.Put, "/_svc/ocr", $"{{\"k\":\"ocr-1\",\"v\":{{\"url\":\"{ocr.Url}\",\"ttl\":600}}}}")).IsOk();
        Assert.Equal(ocr.Url.ToString(), (await Reply.SendAsync(elena, HttpMethod.Get, "/_host?type=ocr")).IsOk().V.GetString());
        var forwarded = (await Reply.SendAsync(elena, HttpMethod.Get, "/_ocr/scan?k=1")).IsOk().V;
        Assert.Equal("elena", forwarded.GetProperty("actor").GetString());
        Assert.False(forwarded.GetProperty("authorization").GetBoolean());

        // _cfg: a setting, then its change stream replayed from the start.
        (await Reply.SendAsync(elena, HttpMethod.Put, "/_cfg/app", "{\"k\":\"color\",\"v\":\"red\"}")).IsOk();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/_cfg/app?watch=1&since=0"))
        using (var response = await elena.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? data = null;
            while (data is null)
            {
                var line = await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException();
                if (line.StartsWith("data:", StringComparison.Ordinal)) data = line[5..].Trim();
            }
            var change = JsonDocument.Parse(data).RootElement;
            Assert.Equal("cfg", change.GetProperty("l").GetString());
            Assert.Equal("color", change.GetProperty("k").GetString());
            Assert.Equal("red", change.GetProperty("v").GetString());
        }

        // api:3: the calls above, counted per service and method, visible after the timed flush.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long turnPuts, ocrGets;
        do
        {
            await Task.Delay(200);
            turnPuts = (await Reply.SendAsync(elena, HttpMethod.Get, "/_stats/turn/PUT?l=api:3")).IsOk().V.GetProperty("count").GetInt64();
            ocrGets = (await Reply.SendAsync(elena, HttpMethod.Get, "/_stats/ocr/GET?l=api:3&k=elena")).IsOk().V.GetProperty("count").GetInt64();
        } while ((turnPuts < 1 || ocrGets < 1) && DateTime.UtcNow < deadline);
        Assert.Equal(1, turnPuts);
        Assert.Equal(1, ocrGets);
    }
}
