using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Kv4.Services.Api;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Server;

/// <summary>Server-wide behaviour that needs its own server: switches, secrets, tokens, health, metrics, OpenAPI.</summary>
[Trait("Category", "Integration")]
public sealed class HostOperationsTests
{
    [Fact]
    public async Task ErrorsAsOk_answers_application_errors_with_200_and_the_same_body()
    {
        await using var server = await Kv4TestServer.StartAsync(["--Kv4:Api:ErrorsAsOk=true"], FakeServices.Install(new FakeServices()));
        using var client = server.SystemClient();
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            var wire = ErrorCodes.Wire(code);
            var reply = await client.GetReplyAsync("/_fail/x?code=" + wire);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            Assert.Equal($"{{\"s\":\"error\",\"v\":\"{wire}\"}}", reply.Body);
        }
        using var anonymous = server.Client();
        var unauthorized = await anonymous.GetReplyAsync("/_probe/x");
        Assert.Equal(HttpStatusCode.OK, unauthorized.Status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"unauthorized\"}", unauthorized.Body);
        Assert.Equal(HttpStatusCode.OK, (await client.GetReplyAsync("/_nosuch/x")).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.GetReplyAsync("/_boom/x")).Status);
    }

    [Fact]
    public async Task The_rate_limiter_is_off_by_default()
    {
        await using var server = await Kv4TestServer.StartAsync(configure: FakeServices.Install(new FakeServices()));
        using var client = server.SystemClient();
        for (var i = 0; i < 50; i++) (await client.GetReplyAsync("/_probe/x")).IsOk();
    }

    [Fact]
    public async Task The_rate_limiter_limits_each_bucket_separately()
    {
        // One permit per second and no burst: the second request of a bucket within the second is refused.
        // A slow machine can only make requests further apart, which lets more through, so the test counts refusals
        // over a quick burst of many and asserts at least one, never a duration.
        await using var server = await Kv4TestServer.StartAsync(["--Kv4:RateLimit:PermitsPerSecond=1"], FakeServices.Install(new FakeServices()));
        using var sys = server.SystemClient();
        var refused = 0;
        for (var i = 0; i < 20; i++)
        {
            var reply = await sys.GetReplyAsync("/_probe/x");
            if (reply.Status == HttpStatusCode.TooManyRequests)
            {
                reply.IsError("rate_limited", HttpStatusCode.TooManyRequests);
                refused++;
            }
            else
            {
                reply.IsOk();
            }
        }
        Assert.True(refused > 0);
        // Another bucket has its own tokens: its first request passes.
        using var elena = server.Client("elena", "elena-secret");
        (await elena.GetReplyAsync("/_probe/x")).IsOk();
        // Health and metrics are not limited.
        using var plain = server.Client();
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await plain.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_bearer_token_with_the_kv4_claims_acts_as_its_caller()
    {
        await using var server = await Kv4TestServer.StartAsync(configure: FakeServices.Install(new FakeServices()));
        var key = server.Services.GetRequiredService<JwtSigningKey>();
        var caller = new Caller("elena#lily", "elena#lily", CallerKind.SubAccount, ["user", "watcher"]);
        string Token(DateTime expires, SigningCredentialsChoice choice = SigningCredentialsChoice.Server, bool withClaims = true)
        {
            var credentials = choice == SigningCredentialsChoice.Server ? key.Credentials
                : new Microsoft.IdentityModel.Tokens.SigningCredentials(
                    new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(new byte[32]), "HS256");
            var claims = withClaims ? CallerPrincipal.ToClaims(caller) : [new Claim("sub", "x")];
            return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
            {
                Issuer = key.Issuer,
                Audience = key.Audience,
                Subject = new ClaimsIdentity(claims),
                NotBefore = DateTime.UtcNow.AddMinutes(-5),
                Expires = expires,
                SigningCredentials = credentials,
            });
        }

        using var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(DateTime.UtcNow.AddMinutes(5)));
        var reply = (await client.GetReplyAsync("/_probe/x")).IsOk();
        Assert.Equal("elena#lily", reply.V.GetProperty("bucket").GetString());
        Assert.Equal("SubAccount", reply.V.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, reply.V.GetProperty("session").ValueKind);
        Assert.Equal(["user", "watcher"], reply.V.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));

        foreach (var bad in new[]
                 {
                     Token(DateTime.UtcNow.AddMinutes(-2)),
                     Token(DateTime.UtcNow.AddMinutes(5), SigningCredentialsChoice.Other),
                     Token(DateTime.UtcNow.AddMinutes(5), withClaims: false),
                 })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bad);
            (await client.GetReplyAsync("/_probe/x")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        }
    }

    public enum SigningCredentialsChoice { Server, Other }

    [Fact]
    public async Task The_sys_secret_and_jwt_key_are_generated_once_owner_only_and_read_back()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "kv4-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            string firstSecret;
            await using (var server = await Kv4TestServer.StartAsync(configure: FakeServices.Install(new FakeServices()), dataDir: dataDir, sysSecret: ""))
            {
                var path = Path.Combine(dataDir, ServerSecrets.SysSecretFile);
                Assert.True(File.Exists(path));
                firstSecret = File.ReadAllText(path).Trim();
                Assert.Equal(32, firstSecret.Length);
                Assert.Equal(firstSecret, server.Services.GetRequiredService<ServerSecrets>().SystemSecret);
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, ServerSecrets.JwtKeyFile)));
                }
                await server.RestartAsync();
                Assert.Equal(firstSecret, server.Services.GetRequiredService<ServerSecrets>().SystemSecret);
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>A factory whose engine opens only when the test lets it (a long recovery).</summary>
    private sealed class SlowOpening(FakeServices fake) : IServiceRuntimeFactory
    {
        public readonly SemaphoreSlim Release = new(0);

        public IServiceProvider Services { get; set; } = null!;

        public async Task<Kv4.Services.Kv4Runtime> OpenAsync(CancellationToken cancellationToken)
        {
            await Release.WaitAsync(cancellationToken);
            return await new TestRuntimeFactory(Services, fake.Adjust).OpenAsync(cancellationToken);
        }
    }

    [Fact]
    public async Task While_the_engine_recovers_healthz_answers_and_readyz_and_the_api_are_unavailable()
    {
        var slow = new SlowOpening(new FakeServices());
        var dataDir = Path.Combine(Path.GetTempPath(), "kv4-test-" + Guid.NewGuid().ToString("N"));
        var app = Kv4.Server.Hosting.Kv4ServerApp.Build(["--urls", "http://127.0.0.1:0", $"--Kv4:DataDir={dataDir}", $"--Kv4:SysSecret={Kv4TestServer.SysSecret}"],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Services.AddSingleton<IServiceRuntimeFactory>(sp =>
                {
                    slow.Services = sp;
                    return slow;
                });
            });
        try
        {
            await app.StartAsync();
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = System.Net.Http.Headers.AuthenticationHeaderValue.Parse(
                Kv4.Server.Authentication.BasicCredential.Header("$sys", Kv4TestServer.SysSecret));

            Assert.Equal("{\"s\":\"ok\",\"v\":\"alive\"}", await client.GetStringAsync("/healthz"));
            var notReady = await client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Equal("{\"s\":\"error\",\"v\":\"unavailable\"}", await notReady.Content.ReadAsStringAsync());
            (await client.GetReplyAsync("/_probe/x")).IsError("unavailable", HttpStatusCode.ServiceUnavailable);

            slow.Release.Release();
            await app.Services.GetRequiredService<Kv4.Server.Hosting.EngineLifetime>().WhenOpenAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("{\"s\":\"ok\",\"v\":\"ready\"}", await client.GetStringAsync("/readyz"));
            (await client.GetReplyAsync("/_probe/x")).IsOk();
        }
        finally
        {
            slow.Release.Release();
            await app.StopAsync();
            await app.DisposeAsync();
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Health_readiness_metrics_and_openapi_are_served()
    {
        await using var server = await Kv4TestServer.StartAsync(configure: FakeServices.Install(new FakeServices()));
        using var client = server.SystemClient();
        Assert.Equal("{\"s\":\"ok\",\"v\":\"alive\"}", await client.GetStringAsync("/healthz"));
        Assert.Equal("{\"s\":\"ok\",\"v\":\"ready\"}", await client.GetStringAsync("/readyz"));

        (await client.GetReplyAsync("/_probe/x")).IsOk();
        (await client.GetReplyAsync("/_fail/x?code=not_found")).IsError("not_found", HttpStatusCode.NotFound);
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("kv4_api_requests_total{service=\"probe\",method=\"GET\",status=\"200\"}", metrics);
        Assert.Contains("kv4_api_requests_total{service=\"fail\",method=\"GET\",status=\"404\"}", metrics);
        Assert.Contains("kv4_api_request_duration_seconds_bucket{service=\"probe\",method=\"GET\"", metrics);
        Assert.Contains("kv4_engine_ready 1", metrics);

        var openApi = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = openApi.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/_{service}/{path}", out var template));
        foreach (var method in new[] { "get", "put", "post", "delete" }) Assert.True(template.TryGetProperty(method, out _), method);
        var tags = openApi.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Contains("_probe", tags);
    }
}
