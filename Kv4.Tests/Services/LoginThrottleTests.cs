using System.Net;
using Kv4.Services.Accounts;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>
/// Failed logins are throttled per login and per client address (defaults: 5 and 20 failures, then a wait of 1 s
/// doubling to 60 s), and a throttled attempt is refused before any hash runs. Time is the harness's clock.
/// </summary>
[Trait("Category", "Unit")]
public sealed class LoginThrottleTests : IAsyncLifetime
{
    private const string WrongSecret = "00000000000000000000000000000000";
    private static readonly IPAddress Here = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress There = IPAddress.Parse("198.51.100.9");

    private ServiceHarness _h = null!;
    private string _elenaSecret = null!;

    private CallerAuthenticator Auth => _h.Services.Authenticator;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        (var elena, _elenaSecret) = await _h.CreateAccountAsync("elena", password: "elena-password");
        await _h.CreateAccountAsync("lily", elena, password: "lily-password");
        await _h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"hunter22"}}""");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task After_five_failures_a_login_waits_and_its_attempts_are_not_hashed()
    {
        for (var i = 0; i < 5; i++) AssertRefused(await Auth.AuthenticateAsync("elena", "boss#wrong", Here));
        var checks = Auth.PasswordChecks;

        // Even the right password waits, through Basic and `_sess`, from this address or any other.
        var waiting = await Auth.AuthenticateAsync("elena", "boss#hunter22", Here);
        Assert.Null(waiting.Caller);
        Assert.Equal(TimeSpan.FromSeconds(1), waiting.RetryAfter);
        Assert.True((await Auth.AuthenticatePasswordAsync("elena:boss", "hunter22", There)).Throttled);
        Assert.Equal(checks, Auth.PasswordChecks);

        _h.Clock.Advance(waiting.RetryAfter);
        Assert.Equal("elena:boss", (await Auth.AuthenticateAsync("elena", "boss#hunter22", Here)).Caller?.Actor);

        // The success cleared the login's count: five more failures before the next wait.
        for (var i = 0; i < 5; i++) AssertRefused(await Auth.AuthenticatePasswordAsync("elena:boss", "wrong", There));
        Assert.True((await Auth.AuthenticatePasswordAsync("elena:boss", "hunter22", There)).Throttled);
        // A credential that succeeded a moment ago is answered from the login cache, wait or not.
        Assert.Equal("elena:boss", (await Auth.AuthenticateAsync("elena", "boss#hunter22", Here)).Caller?.Actor);
    }

    [Fact]
    public async Task The_wait_doubles_with_each_further_failure_up_to_a_minute()
    {
        for (var i = 0; i < 5; i++) AssertRefused(await Auth.AuthenticateAsync("elena", WrongSecret, Here));
        foreach (var seconds in new[] { 1, 2, 4, 8, 16, 32, 60, 60 })
        {
            var waiting = await Auth.AuthenticateAsync("elena", _elenaSecret + "0", Here);
            Assert.Equal(TimeSpan.FromSeconds(seconds), waiting.RetryAfter);
            _h.Clock.Advance(waiting.RetryAfter - TimeSpan.FromMilliseconds(1));
            Assert.True((await Auth.AuthenticateAsync("elena", WrongSecret, Here)).Throttled);
            _h.Clock.Advance(TimeSpan.FromMilliseconds(1));
            AssertRefused(await Auth.AuthenticateAsync("elena", WrongSecret, Here));
        }
    }

    [Fact]
    public async Task Fifteen_minutes_without_a_failure_forget_the_count()
    {
        for (var i = 0; i < 4; i++) AssertRefused(await Auth.AuthenticatePasswordAsync("elena", "wrong", Here));
        _h.Clock.Advance(TimeSpan.FromMinutes(15));
        for (var i = 0; i < 4; i++) AssertRefused(await Auth.AuthenticatePasswordAsync("elena", "wrong", Here));
        AssertRefused(await Auth.AuthenticatePasswordAsync("elena", "wrong", Here));
        Assert.True((await Auth.AuthenticatePasswordAsync("elena", "elena-password", Here)).Throttled);
    }

    [Fact]
    public async Task One_address_trying_many_names_waits_after_twenty_failures()
    {
        // An IPv4-mapped IPv6 address is the same client as its IPv4 address.
        var mapped = Here.MapToIPv6();
        for (var i = 0; i < 20; i++) AssertRefused(await Auth.AuthenticateAsync($"ghost{i}", WrongSecret, i % 2 == 0 ? Here : mapped));
        var checks = (Auth.PasswordChecks, Auth.SecretChecks);

        Assert.True((await Auth.AuthenticateAsync("elena", "boss#hunter22", Here)).Throttled);
        Assert.True((await Auth.AuthenticatePasswordAsync("elena#lily", "lily-password", mapped)).Throttled);
        Assert.True((await Auth.AuthenticateAsync("ghost99", WrongSecret, Here)).Throttled);
        Assert.Equal(checks, (Auth.PasswordChecks, Auth.SecretChecks));

        // Another address is not held up, nor are these logins themselves.
        Assert.Equal("elena:boss", (await Auth.AuthenticateAsync("elena", "boss#hunter22", There)).Caller?.Actor);
        Assert.Equal("elena#lily", (await Auth.AuthenticatePasswordAsync("elena#lily", "lily-password", There)).Caller?.Bucket);
    }

    [Theory]
    [InlineData("elena", WrongSecret)]
    [InlineData("ghost", WrongSecret)]
    [InlineData("elena#ghost", WrongSecret)]
    [InlineData("ghost#lily", WrongSecret)]
    [InlineData("elena#ghost", "!" + WrongSecret)]
    [InlineData("ghost#lily", "!" + WrongSecret)]
    public async Task An_unknown_account_or_sub_account_runs_the_secret_hash_like_a_wrong_secret(string user, string password)
    {
        var before = (Auth.PasswordChecks, Auth.SecretChecks);
        AssertRefused(await Auth.AuthenticateAsync(user, password, Here));
        Assert.Equal((before.PasswordChecks, before.SecretChecks + 1), (Auth.PasswordChecks, Auth.SecretChecks));
    }

    [Theory]
    [InlineData("elena", "boss#wrong")]
    [InlineData("elena", "ghost#hunter22")]
    [InlineData("ghost", "boss#hunter22")]
    public async Task An_unknown_admin_runs_the_password_hash_like_a_wrong_password(string user, string password)
    {
        var before = (Auth.PasswordChecks, Auth.SecretChecks);
        AssertRefused(await Auth.AuthenticateAsync(user, password, Here));
        Assert.Equal((before.PasswordChecks + 1, before.SecretChecks), (Auth.PasswordChecks, Auth.SecretChecks));
    }

    [Theory]
    [InlineData("elena")]
    [InlineData("ghost")]
    [InlineData("elena#ghost")]
    [InlineData("ghost#lily")]
    [InlineData("elena:ghost")]
    [InlineData("ghost:boss")]
    [InlineData("bare")]
    [InlineData("elena#lily-off")]
    public async Task Every_refused_password_login_runs_the_password_hash(string login)
    {
        // `bare` exists without a password; `elena#lily-off` exists but is inactive.
        await _h.CreateAccountAsync("bare");
        var elena = (await _h.LoginAsync("elena", _elenaSecret))!;
        await _h.CreateAccountAsync("lily-off", elena, password: "wrong");
        (await _h.PostAsync(elena, "acc", "accounts", """{"k":"lily-off","v":{"active":false}}""")).Ok();

        var before = (Auth.PasswordChecks, Auth.SecretChecks);
        AssertRefused(await Auth.AuthenticatePasswordAsync(login, "wrong", Here));
        Assert.Equal((before.PasswordChecks + 1, before.SecretChecks), (Auth.PasswordChecks, Auth.SecretChecks));
    }

    [Fact]
    public void A_spray_of_random_names_and_addresses_stays_within_the_tables_and_keeps_the_waits()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var options = new LoginOptions();
        var throttle = new LoginThrottle(options, clock);
        for (var i = 0; i < 5; i++) throttle.Failed("elena:boss", Here);
        Assert.False(throttle.TryAdmit("elena:boss", There, out var wait));

        var random = new Random(9);
        var address = new byte[4];
        for (var i = 0; i < 100_000; i++)
        {
            random.NextBytes(address);
            var from = new IPAddress(address);
            var login = $"n{random.NextInt64():x}";
            if (throttle.TryAdmit(login, from, out _)) throttle.Failed(login, from);
        }

        Assert.InRange(throttle.TrackedLogins, 1, options.MaxTracked);
        Assert.InRange(throttle.TrackedAddresses, 1, options.MaxTracked);
        Assert.False(throttle.TryAdmit("elena:boss", There, out var still));
        Assert.Equal(wait, still);
    }

    [Fact]
    public void An_ipv6_client_is_counted_by_its_64_bit_prefix()
    {
        var throttle = new LoginThrottle(new LoginOptions(), new TestClock(DateTimeOffset.UtcNow));
        for (var i = 0; i < 20; i++) throttle.Failed($"ghost{i}", IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"));
        Assert.False(throttle.TryAdmit("elena", IPAddress.Parse("2001:db8:1:2:ffff::1"), out _));
        Assert.True(throttle.TryAdmit("elena", IPAddress.Parse("2001:db8:1:3::1"), out _));
    }

    private static void AssertRefused(LoginResult result)
    {
        Assert.Null(result.Caller);
        Assert.False(result.Throttled, $"throttled for {result.RetryAfter}");
    }
}
