using System.Net;
using System.Text.Json;
using Kv4.Engine;
using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Kv4.Services;
using Kv4.Services.Api;
using Kv4.Services.Hosts;
using Kv4.Tests.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kv4.Tests.Platform;

/// <summary>
/// The platform services through the real host (Kestrel on 127.0.0.1, real store, Basic authentication, the
/// `/_{service}` endpoint): external registration and forwarding over HTTP to a real host, `_host?type=`,
/// `_turn` credentials accepted by a real coturn, `api:3` stats flushed by the timer and by a graceful stop, `_cfg`.
/// Logins come from <see cref="FakeServices"/> (`$sys`, `elena`, `elena#lily`); the services are the production
/// <see cref="PlatformSet"/> bound from the `Kv4:Turn`/`Kv4:Stats` options of the command line.
/// </summary>
[Trait("Category", "Integration")]
public class PlatformHttpTests
{
    private const string TurnSecret = "http-e2e-turn-secret";

    /// <summary>The production runtime on the host's configured store, with the fixed logins of <see cref="FakeServices"/>.</summary>
    private static Task<Kv4TestServer> StartAsync(params string[] args)
    {
        var logins = new FakeServices();
        return Kv4TestServer.StartAsync(args, TestRuntimeFactory.Install(settings => settings with { Authenticator = logins, AccessPolicy = logins }));
    }

    private static HttpClient Elena(Kv4TestServer server) => server.Client("elena", "elena-secret");

    [Fact]
    public async Task A_registered_external_service_is_reached_through_the_template_with_the_callers_identity()
    {
        await using var server = await StartAsync();
        await using var host = await FakeServiceHost.StartAsync("A");
        using var sys = server.SystemClient();
        using var elena = Elena(server);

        (await Reply.SendAsync(elena, HttpMethod.Get, "/_ocr/jobs")).IsError("unknown_service", HttpStatusCode.NotFound);
        (await Reply.SendAsync(elena, HttpMethod.Put, "/_svc/ocr", $"{{\"k\":\"A\",\"v\":{{\"url\":\"{host.Url}\"}}}}"))
            .IsError("forbidden", HttpStatusCode.Forbidden);
        (await Reply.SendAsync(sys, HttpMethod.Put, "/_svc/ocr", $"{{\"k\":\"A\",\"v\":{{\"url\":\"{host.Url}\",\"load\":3,\"ttl\":600}}}}")).IsOk();

        var forwarded = (await Reply.SendAsync(elena, HttpMethod.Post, "/_ocr/jobs/7?k=x&mode=fast", "{\"k\":\"x\",\"v\":1}")).IsOk().V;
        Assert.Equal("A", forwarded.GetProperty("host").GetString());
        Assert.Equal("POST", forwarded.GetProperty("method").GetString());
        Assert.Equal("/_ocr/jobs/7", forwarded.GetProperty("path").GetString());
        Assert.Contains("mode=fast", forwarded.GetProperty("query").GetString());
        Assert.Equal("elena", forwarded.GetProperty("bucket").GetString());
        Assert.Equal("elena", forwarded.GetProperty("actor").GetString());
        Assert.False(forwarded.GetProperty("authorization").GetBoolean()); // elena's Basic credential stayed here

        Assert.Equal(host.Url.ToString(), (await Reply.SendAsync(elena, HttpMethod.Get, "/_host?type=ocr")).IsOk().V.GetString());

        await host.StopAsync();
        (await Reply.SendAsync(elena, HttpMethod.Get, "/_ocr/jobs")).IsError("no_service_host", HttpStatusCode.ServiceUnavailable);
        (await Reply.SendAsync(server.Client(), HttpMethod.Get, "/_ocr/jobs")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }

    [Kv4.Tests.Support.ToolFact("turnserver", "turnutils_uclient")]
    public async Task Turn_credentials_fetched_over_http_allocate_on_a_real_coturn()
    {
        using var coturn = await CoturnProcess.StartAsync(TurnSecret);
        // The test coturn listens on one port without TLS: the host's ICE list is configured to match (port-less
        // entries take the host's port).
        await using var server = await StartAsync($"--Kv4:Turn:Hosts:0=127.0.0.1:{coturn.Port}", $"--Kv4:Turn:Secret={TurnSecret}", "--Kv4:Turn:TtlSeconds=600",
            "--Kv4:Turn:Ice:0=stun", "--Kv4:Turn:Ice:1=turn?transport=udp", "--Kv4:Turn:Ice:2=turn?transport=tcp");
        using var elena = Elena(server);

        var v = (await Reply.SendAsync(elena, HttpMethod.Put, "/_turn/my/room")).IsOk().V;
        Assert.Equal([$"stun:127.0.0.1:{coturn.Port}", $"turn:127.0.0.1:{coturn.Port}?transport=udp", $"turn:127.0.0.1:{coturn.Port}?transport=tcp"],
            v.GetProperty("iceServers").EnumerateArray().Select(e => e.GetProperty("url").GetString()));
        var turn = v.GetProperty("iceServers")[1];
        Assert.Equal($"turn:127.0.0.1:{coturn.Port}?transport=udp", turn.GetProperty("urls").GetString());
        var username = turn.GetProperty("username").GetString()!;
        var expiry = long.Parse(username[..username.IndexOf(':')]);
        Assert.InRange(expiry - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 1, 600); // Kv4:Turn:TtlSeconds was bound

        var allocation = await coturn.AllocateAsync(username, turn.GetProperty("credential").GetString()!);
        Assert.True(allocation.ExitCode == 0, allocation.Output + "\n" + coturn.Log);
        var overTcp = await coturn.AllocateAsync(username, v.GetProperty("iceServers")[2].GetProperty("credential").GetString()!, tcp: true);
        Assert.True(overTcp.ExitCode == 0, overTcp.Output + "\n" + coturn.Log);
        Assert.Equal($"127.0.0.1:{coturn.Port}", (await Reply.SendAsync(elena, HttpMethod.Get, "/_host?type=turn")).IsOk().V.GetString());
        (await Reply.SendAsync(elena, HttpMethod.Get, "/_turn")).IsError("method_not_allowed", HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task Every_call_is_counted_in_api_3_and_shows_after_a_timed_flush()
    {
        await using var server = await StartAsync("--Kv4:Stats:FlushSeconds=1");
        using var elena = Elena(server);
        for (var i = 0; i < 3; i++) (await Reply.SendAsync(elena, HttpMethod.Put, "/_cfg/app", $"{{\"k\":\"color\",\"v\":{i}}}")).IsOk();

        // Eventually (the flush timer runs every second): the three PUTs, whatever else was counted meanwhile.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement stats;
        do
        {
            await Task.Delay(200);
            stats = (await Reply.SendAsync(elena, HttpMethod.Get, "/_stats/cfg/PUT?l=api:3")).IsOk().V;
        } while (stats.GetProperty("count").GetInt64() < 3 && DateTime.UtcNow < deadline);
        Assert.Equal(3, stats.GetProperty("count").GetInt64());
        Assert.Equal(3, stats.GetProperty("sum").GetDouble());
        (await Reply.SendAsync(elena, HttpMethod.Delete, "/_stats/cfg/PUT?l=api:3")).IsError("method_not_allowed", HttpStatusCode.MethodNotAllowed);

        // _cfg keeps the history of a setting.
        var history = (await Reply.SendAsync(elena, HttpMethod.Get, "/_cfg/app?time_series=1&k=color")).IsOk().V;
        Assert.Equal([2, 1, 0], history.EnumerateArray().Select(e => e[2].GetInt32()));
    }

    [Fact]
    public async Task A_graceful_stop_flushes_the_stats_still_in_memory()
    {
        // A flush interval far beyond the test: only the flush on stop can write the value.
        await using var server = await StartAsync("--Kv4:Stats:FlushSeconds=86400");
        using (var elena = Elena(server))
            (await Reply.SendAsync(elena, HttpMethod.Post, "/_stats/rooms/lobby?l=bytes", "{\"v\":1500}")).IsOk();

        await server.RestartAsync();
        using var again = Elena(server);
        var v = (await Reply.SendAsync(again, HttpMethod.Get, "/_stats/rooms/lobby?l=bytes")).IsOk().V;
        Assert.Equal(1500, v.GetProperty("sum").GetDouble());
        Assert.Equal(1, v.GetProperty("count").GetInt64());
    }
}
