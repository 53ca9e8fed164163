using System.Net;

namespace Kv4.Tests.Server;

/// <summary>
/// CORS over real HTTP: with `Kv4:Cors:Origins` the API template answers a browser's preflight (204, the four
/// methods, Authorization and Content-Type, credentials for that exact origin) and marks its replies for it; an
/// origin not listed, a path outside the template, or a server without origins gets no CORS header at all.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CorsTests : IAsyncLifetime
{
    private const string Allowed = "http://app.example:8080";
    private const string Other = "https://elsewhere.example";

    private readonly FakeServices _fake = new();
    private Kv4TestServer _withOrigins = null!;
    private Kv4TestServer _withoutOrigins = null!;

    public async Task InitializeAsync()
    {
        _withOrigins = await Kv4TestServer.StartAsync(
            [$"--Kv4:Cors:Origins:0={Allowed}", "--Kv4:Cors:Origins:1=https://second.example"], FakeServices.Install(_fake));
        _withoutOrigins = await Kv4TestServer.StartAsync(configure: FakeServices.Install(_fake));
    }

    public async Task DisposeAsync()
    {
        await _withOrigins.DisposeAsync();
        await _withoutOrigins.DisposeAsync();
    }

    private static HttpRequestMessage Preflight(string uri, string origin, string method = "PUT")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, uri);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static bool HasCorsHeaders(HttpResponseMessage response) =>
        response.Headers.Any(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

    [Theory]
    [InlineData("/_probe/a/b")]
    [InlineData("/_probe")]
    public async Task A_preflight_from_a_configured_origin_is_answered_for_the_template(string uri)
    {
        var calls = _fake.ProbeCalls;
        using var client = _withOrigins.Client();
        using var response = await client.SendAsync(Preflight(uri, Allowed));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(Allowed, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        var methods = Header(response, "Access-Control-Allow-Methods")!.Split(',', StringSplitOptions.TrimEntries);
        Assert.Equal(["DELETE", "GET", "POST", "PUT"], methods.Order());
        var headers = Header(response, "Access-Control-Allow-Headers")!.Split(',', StringSplitOptions.TrimEntries);
        Assert.Equal(["authorization", "content-type"], headers.Select(h => h.ToLowerInvariant()).Order());
        Assert.Equal("600", Header(response, "Access-Control-Max-Age"));
        Assert.Equal(calls, _fake.ProbeCalls);
    }

    [Fact]
    public async Task A_call_from_a_configured_origin_is_marked_for_it_and_never_for_any_origin()
    {
        using var client = _withOrigins.SystemClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/_probe/a");
        request.Headers.Add("Origin", Allowed);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Allowed, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", Header(response, "Vary") ?? "");

        // An error reply is readable by the page too (it must see `unauthorized`, not an opaque failure).
        using var anonymous = _withOrigins.Client();
        using var refused = new HttpRequestMessage(HttpMethod.Get, "/_probe/a");
        refused.Headers.Add("Origin", Allowed);
        using var refusedResponse = await anonymous.SendAsync(refused);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedResponse.StatusCode);
        Assert.Equal(Allowed, Header(refusedResponse, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task An_origin_not_configured_gets_no_cors_headers()
    {
        using var client = _withOrigins.SystemClient();
        using var preflight = await client.SendAsync(Preflight("/_probe/a", Other));
        Assert.False(HasCorsHeaders(preflight));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/_probe/a");
        request.Headers.Add("Origin", Other);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(HasCorsHeaders(response));
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/metrics")]
    public async Task Paths_outside_the_template_get_no_cors_headers(string uri)
    {
        using var client = _withOrigins.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Add("Origin", Allowed);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(HasCorsHeaders(response));
    }

    [Fact]
    public async Task Without_configured_origins_there_is_no_cors_and_a_preflight_is_method_not_allowed()
    {
        using var client = _withoutOrigins.SystemClient();
        using var preflight = await client.SendAsync(Preflight("/_probe/a", Allowed));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, preflight.StatusCode);
        Assert.False(HasCorsHeaders(preflight));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/_probe/a");
        request.Headers.Add("Origin", Allowed);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(HasCorsHeaders(response));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("http://app.example/")]
    [InlineData("http://app.example/path")]
    [InlineData("app.example")]
    public async Task A_wildcard_or_malformed_origin_stops_the_start(string origin)
    {
        var dataDir = Directory.CreateTempSubdirectory("kv4-cors-").FullName;
        try
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await using var server = await Kv4TestServer.StartAsync([$"--Kv4:Cors:Origins:0={origin}"],
                    FakeServices.Install(new FakeServices()), dataDir);
            });
            Assert.Contains("Kv4 options", error.Message);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
