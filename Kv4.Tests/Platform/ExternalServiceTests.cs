using System.Text.Json;
using Kv4.Services.Api;
using Kv4.Services.External;
using Kv4.Services.Turn;

namespace Kv4.Tests.Platform;

/// <summary>
/// External services (http-api.md §5.8 External services) against real HTTP hosts: registration through `_svc`, routing of an unknown
/// prefix through the catalog's fallback, least-loaded choice, failover, expiry, and the caller's identity in headers.
/// </summary>
[Trait("Category", "Integration")]
public class ExternalServiceTests : IAsyncLifetime
{
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private ExternalServiceRegistry _registry = null!;
    private ExternalServiceForwarder _forwarder = null!;
    private ServiceCatalog _catalog = null!;
    private FakeServiceHost _a = null!;
    private FakeServiceHost _b = null!;

    public async Task InitializeAsync()
    {
        _registry = new ExternalServiceRegistry(_clock);
        _forwarder = new ExternalServiceForwarder(_registry, new ExternalServiceOptions { TimeoutSeconds = 60 });
        var turn = new TurnService(new TurnOptions(), _clock, _registry, _forwarder);
        _catalog = new ServiceCatalog([new ServiceRegistryService(_registry), turn], new ExternalServiceRouter(_registry, _forwarder));
        _a = await FakeServiceHost.StartAsync("A");
        _b = await FakeServiceHost.StartAsync("B");
    }

    public async Task DisposeAsync()
    {
        _forwarder.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private async Task<ApiReply> CallAsync(ApiRequest request)
    {
        if (!_catalog.TryFind(request.Service, out var service)) return ErrorCode.UnknownService;
        return await service.HandleAsync(request);
    }

    private async Task Register(string service, FakeServiceHost host, double load, int ttl = 30, string? token = null)
    {
        var v = new Dictionary<string, object> { ["url"] = host.Url.ToString(), ["load"] = load, ["capacity"] = 100, ["ttl"] = ttl };
        if (token is not null) v["token"] = token;
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["k"] = host.Name, ["v"] = v });
        var reply = await CallAsync(ApiCalls.Request(ApiMethod.Put, "svc", service, body, ApiCalls.System));
        Assert.True(reply.IsOk, ApiCalls.Render(reply));
    }

    private async Task<string> AnsweringHost(string service = "ocr")
    {
        var reply = await CallAsync(ApiCalls.Request(ApiMethod.Post, service, "jobs/1", "{\"k\":\"x\",\"v\":1}"));
        return ApiCalls.Value(reply).GetProperty("host").GetString()!;
    }

    [Fact]
    public async Task Unregistered_prefix_is_an_unknown_service()
    {
        Assert.Equal(ErrorCode.UnknownService, (await CallAsync(ApiCalls.Request(ApiMethod.Get, "ocr"))).Error);
    }

    [Fact]
    public async Task The_least_loaded_host_answers_and_the_choice_follows_the_heartbeats()
    {
        await Register("ocr", _a, load: 10);
        await Register("ocr", _b, load: 50);
        Assert.Equal("A", await AnsweringHost());
        Assert.Equal("A", await AnsweringHost());

        await Register("ocr", _a, load: 90); // A's next heartbeat reports it busier than B
        Assert.Equal("B", await AnsweringHost());
        Assert.Equal(2, _a.Requests);
        Assert.Equal(1, _b.Requests);
    }

    [Fact]
    public async Task A_stopped_host_is_taken_out_and_the_request_retried_on_the_next()
    {
        await Register("ocr", _a, load: 10);
        await Register("ocr", _b, load: 50);
        await _a.StopAsync();

        Assert.Equal("B", await AnsweringHost());
        Assert.Equal(["B"], _registry.LiveHosts("ocr").Select(h => h.HostId));
        Assert.Equal("B", await AnsweringHost()); // no second attempt on A

        await _b.StopAsync();
        Assert.Equal(ErrorCode.NoServiceHost, (await CallAsync(ApiCalls.Request(ApiMethod.Get, "ocr", "jobs"))).Error);
    }

    [Fact]
    public async Task A_host_that_stops_renewing_expires()
    {
        await Register("ocr", _a, load: 10, ttl: 30);
        await Register("ocr", _b, load: 50, ttl: 30);
        _clock.Advance(TimeSpan.FromSeconds(20));
        await Register("ocr", _b, load: 50, ttl: 30); // only B keeps beating
        _clock.Advance(TimeSpan.FromSeconds(15));

        Assert.Equal("B", await AnsweringHost()); // A still runs, but its registration is out
        Assert.Equal(0, _a.Requests);

        var hosts = ApiCalls.Value(await CallAsync(ApiCalls.Request(ApiMethod.Get, "svc", "ocr", caller: ApiCalls.System)));
        Assert.Equal(["B"], hosts.EnumerateArray().Select(h => h.GetProperty("k").GetString()));

        _clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(ErrorCode.UnknownService, (await CallAsync(ApiCalls.Request(ApiMethod.Get, "ocr"))).Error);
        Assert.Empty(ApiCalls.Value(await CallAsync(ApiCalls.Request(ApiMethod.Get, "svc", caller: ApiCalls.System))).EnumerateArray());
    }

    [Fact]
    public async Task The_caller_identity_travels_in_headers_never_its_authorization()
    {
        await Register("ocr", _a, load: 0, token: "host-a-token");
        var request = ApiCalls.Request(ApiMethod.Put, "ocr", "a b/c", "{\"k\":\"x\",\"v\":[1]}", new Caller("elena#lily", "elena#lily", CallerKind.SubAccount, []),
            ("k", "x&y"), ("depth", "2"));
        var v = ApiCalls.Value(await CallAsync(request));
        Assert.Equal("PUT", v.GetProperty("method").GetString());
        Assert.Equal("/_ocr/a b/c", v.GetProperty("path").GetString());
        Assert.Contains("k=x%26y", v.GetProperty("query").GetString());
        Assert.Contains("depth=2", v.GetProperty("query").GetString());
        Assert.Equal("{\"k\":\"x\",\"v\":[1]}", v.GetProperty("body").GetString());
        Assert.Equal("elena#lily", v.GetProperty("bucket").GetString());
        Assert.Equal("elena#lily", v.GetProperty("actor").GetString());
        Assert.Equal("SubAccount", v.GetProperty("kind").GetString());
        Assert.Equal("host-a-token", v.GetProperty("token").GetString());
        Assert.False(v.GetProperty("authorization").GetBoolean());
    }

    [Fact]
    public async Task A_registered_turn_service_takes_over_turn()
    {
        Assert.Equal(ErrorCode.NoServiceHost, (await CallAsync(ApiCalls.Request(ApiMethod.Put, "turn"))).Error);
        await Register("turn", _b, load: 1);
        var v = ApiCalls.Value(await CallAsync(ApiCalls.Request(ApiMethod.Put, "turn", "room")));
        Assert.Equal("B", v.GetProperty("host").GetString());
        Assert.Equal("/_turn/room", v.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Host_of_type_turn_follows_turn_to_a_registered_turn_service()
    {
        var builtIn = new TurnService(new TurnOptions { Hosts = ["127.0.0.1:3478"], Secret = "s" }, _clock, _registry, _forwarder);
        var hosts = new Kv4.Services.Hosts.HostService([new Kv4.Services.Hosts.TurnHostDirectory(builtIn.Pool, _registry),
            new Kv4.Services.Hosts.ExternalHostDirectory(_registry)]);
        async Task<string> BestTurn() => ApiCalls.Value(await hosts.HandleAsync(ApiCalls.Request(ApiMethod.Get, "host", "", null, null, ("type", "turn")))).GetString()!;

        Assert.Equal("127.0.0.1:3478", await BestTurn());
        // Registered: `_turn` is forwarded there, and `_host?type=turn` names it rather than the built-in host.
        await Register("turn", _b, load: 1);
        Assert.Equal(_b.Url.ToString(), await BestTurn());
    }

    [Fact]
    public async Task Only_the_system_login_registers_and_bad_registrations_are_refused()
    {
        var body = $"{{\"k\":\"A\",\"v\":{{\"url\":\"{_a.Url}\"}}}}";
        Assert.Equal(ErrorCode.Forbidden, (await CallAsync(ApiCalls.Request(ApiMethod.Put, "svc", "ocr", body))).Error);
        Assert.Equal(ErrorCode.Forbidden, (await CallAsync(ApiCalls.Request(ApiMethod.Get, "svc", ""))).Error);

        async Task<ErrorCode?> Put(string path, string json) => (await CallAsync(ApiCalls.Request(ApiMethod.Put, "svc", path, json, ApiCalls.System))).Error;
        Assert.Equal(ErrorCode.BadJson, await Put("ocr", "{"));
        Assert.Equal(ErrorCode.BadKey, await Put("ocr", "{\"v\":{\"url\":\"http://h\"}}"));
        Assert.Equal(ErrorCode.BadParam, await Put("ocr", "{\"k\":\"A\",\"v\":{\"url\":\"ftp://h\"}}"));
        Assert.Equal(ErrorCode.BadParam, await Put("ocr", "{\"k\":\"A\",\"v\":{\"url\":\"http://h\",\"ttl\":0}}"));
        Assert.Equal(ErrorCode.BadParam, await Put("ocr", "{\"k\":\"A\",\"v\":{\"url\":\"http://h\",\"load\":-1}}"));
        Assert.Equal(ErrorCode.BadPath, await Put("Bad Name", body));
        Assert.Equal(ErrorCode.BadPath, await Put("", body));
        Assert.Empty(_registry.ServiceNames());

        Assert.Null(await Put("ocr", body));
        var listed = ApiCalls.Value(await CallAsync(ApiCalls.Request(ApiMethod.Get, "svc", "ocr", caller: ApiCalls.System, query: ("k", "A"))));
        Assert.False(listed.TryGetProperty("token", out _));
        Assert.Equal(30, listed.GetProperty("ttl").GetInt32());
        var removed = await CallAsync(ApiCalls.Request(ApiMethod.Delete, "svc", "ocr", caller: ApiCalls.System, query: ("k", "A")));
        Assert.Equal("{\"s\":\"ok\",\"v\":1}", ApiCalls.Render(removed));
        Assert.Equal(ErrorCode.UnknownService, (await CallAsync(ApiCalls.Request(ApiMethod.Get, "ocr"))).Error);
    }

    [Fact]
    public async Task A_host_that_does_not_answer_in_time_counts_as_failed()
    {
        await Register("ocr", _a, load: 10);
        await Register("ocr", _b, load: 50);
        _a.Delay = TimeSpan.FromMinutes(5); // far beyond the attempt deadline of this forwarder
        using var impatient = new ExternalServiceForwarder(_registry, new ExternalServiceOptions { TimeoutSeconds = 5 });

        var reply = await impatient.ForwardAsync(ApiCalls.Request(ApiMethod.Get, "ocr", "jobs"), "ocr");
        Assert.Equal("B", ApiCalls.Value(reply).GetProperty("host").GetString());
        Assert.Equal(1, _a.Requests);
        Assert.Equal(["B"], _registry.LiveHosts("ocr").Select(h => h.HostId));

        await Register("ocr", _a, load: 10); // its next heartbeat brings it back
        _a.Delay = TimeSpan.Zero;
        Assert.Equal("A", await AnsweringHost());
    }

    [Theory]
    [InlineData(200, "{\"s\":\"ok\",\"v\":[1,2]}", "{\"s\":\"ok\",\"v\":[1,2]}")]
    [InlineData(200, "{\"s\":\"ok\"}", "{\"s\":\"ok\"}")]
    [InlineData(200, "{\"text\":\"hi\"}", "{\"s\":\"ok\",\"v\":{\"text\":\"hi\"}}")]
    [InlineData(200, "", "{\"s\":\"ok\"}")]
    [InlineData(409, "{\"s\":\"error\",\"v\":\"exists\"}", "{\"s\":\"error\",\"v\":\"exists\"}")]
    [InlineData(400, "{\"s\":\"error\",\"v\":\"no_such_code\"}", "{\"s\":\"error\",\"v\":\"bad_param\"}")]
    [InlineData(404, "not json at all", null)]
    [InlineData(403, "", "{\"s\":\"error\",\"v\":\"forbidden\"}")]
    [InlineData(500, "{\"oops\":1}", "{\"s\":\"error\",\"v\":\"unavailable\"}")]
    public void Host_answers_become_contract_replies(int status, string body, string? expected)
    {
        var reply = ExternalServiceForwarder.ToReply(status, System.Text.Encoding.UTF8.GetBytes(body));
        Assert.Equal(expected, reply is { } r ? ApiCalls.Render(r) : null);
    }
}
