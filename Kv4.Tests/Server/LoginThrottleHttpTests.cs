using System.Net;
using System.Net.Http.Headers;
using Kv4.Server.Authentication;
using Kv4.Server.Hosting;
using Kv4.Services.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Server;

/// <summary>
/// Over real HTTP with the default limits: a login or a client address that failed too often is answered
/// `rate_limited` (429) without its password being hashed, on `_sess` and on Basic (with Retry-After); other
/// logins from other addresses go on. The second client address is 127.0.0.2. The waits are an hour, so however
/// slowly a busy machine runs the test, an attempt that must wait still finds itself waiting.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LoginThrottleHttpTests
{
    private static readonly string[] HourLongWaits = ["--Kv4:Login:DelaySeconds=3600", "--Kv4:Login:MaxDelaySeconds=3600"];

    private static readonly IPAddress Here = IPAddress.Loopback;
    private static readonly IPAddress There = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task A_login_that_failed_five_times_is_rate_limited_without_hashing_and_others_go_on()
    {
        await using var server = await Kv4TestServer.StartAsync(HourLongWaits);
        await CreateElenaWithAdminsAsync(server);
        var auth = Authenticator(server);
        using var here = server.ClientFrom(Here);
        for (var i = 0; i < 5; i++)
            (await here.PostReplyAsync("/_sess", """{"k":"elena:boss","v":{"password":"wrong"}}""")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        var checks = auth.PasswordChecks;

        (await here.PostReplyAsync("/_sess", """{"k":"elena:boss","v":{"password":"hunter22"}}""")).IsError("rate_limited", HttpStatusCode.TooManyRequests);
        using var basic = server.ClientFrom(Here, "elena", "boss#hunter22");
        var refused = (await basic.PutReplyAsync("/_data", """{"k":"a","v":1}""")).IsError("rate_limited", HttpStatusCode.TooManyRequests);
        Assert.InRange(refused.Message.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromMinutes(50), TimeSpan.FromHours(1));
        Assert.Equal(checks, auth.PasswordChecks);

        // Another login from another address is not held up; the throttled login is, from anywhere.
        using var there = server.ClientFrom(There);
        Assert.StartsWith("ey", (await there.PostReplyAsync("/_sess", """{"k":"elena:kim","v":{"password":"kim-password"}}"""))
            .IsOk().V.GetProperty("access_token").GetString());
        (await there.PostReplyAsync("/_sess", """{"k":"elena:boss","v":{"password":"hunter22"}}""")).IsError("rate_limited", HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task An_address_that_failed_twenty_times_is_rate_limited_and_another_address_is_not()
    {
        await using var server = await Kv4TestServer.StartAsync(HourLongWaits);
        await CreateElenaWithAdminsAsync(server);
        var auth = Authenticator(server);
        using var here = server.ClientFrom(Here);
        for (var i = 0; i < 20; i++)
        {
            here.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(BasicCredential.Header($"ghost{i}", "00000000000000000000000000000000"));
            (await here.PutReplyAsync("/_data", """{"k":"a","v":1}""")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        }
        var checks = (auth.PasswordChecks, auth.SecretChecks);

        here.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(BasicCredential.Header("elena", "boss#hunter22"));
        (await here.PutReplyAsync("/_data", """{"k":"a","v":1}""")).IsError("rate_limited", HttpStatusCode.TooManyRequests);
        Assert.Equal(checks, (auth.PasswordChecks, auth.SecretChecks));

        using var there = server.ClientFrom(There, "elena", "boss#hunter22");
        (await there.PutReplyAsync("/_data", """{"k":"a","v":1}""")).IsOk();
    }

    [Fact]
    public async Task The_allowance_is_a_knob()
    {
        await using var server = await Kv4TestServer.StartAsync([.. HourLongWaits, "--Kv4:Login:FailuresAllowed=2", "--Kv4:Login:AddressFailuresAllowed=0"]);
        await CreateElenaWithAdminsAsync(server);
        using var here = server.ClientFrom(Here, "elena", "boss#wrong");
        for (var i = 0; i < 2; i++) (await here.GetReplyAsync("/_data?k=a")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await here.GetReplyAsync("/_data?k=a")).IsError("rate_limited", HttpStatusCode.TooManyRequests);
    }

    [Theory]
    [InlineData("--Kv4:Login:DelaySeconds=0")]
    [InlineData("--Kv4:Login:MaxDelaySeconds=0")]
    [InlineData("--Kv4:Login:WindowSeconds=0")]
    [InlineData("--Kv4:Login:FailuresAllowed=-1")]
    public async Task A_bad_login_knob_stops_the_start(string knob)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "kv4-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => Kv4TestServer.StartAsync([knob], dataDir: dataDir));
        }
        finally
        {
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task CreateElenaWithAdminsAsync(Kv4TestServer server)
    {
        using var sys = server.SystemClient();
        var secret = (await sys.PutReplyAsync("/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com"}}"""))
            .IsOk().V.GetProperty("secret").GetString()!;
        using var elena = server.Client("elena", secret);
        (await elena.PutReplyAsync("/_acc/users/admins", """{"k":"boss","v":{"password":"hunter22"}}""")).IsOk();
        (await elena.PutReplyAsync("/_acc/users/admins", """{"k":"kim","v":{"password":"kim-password"}}""")).IsOk();
    }

    private static CallerAuthenticator Authenticator(Kv4TestServer server) =>
        server.Services.GetRequiredService<EngineLifetime>().Runtime!.Core.Authenticator;
}
