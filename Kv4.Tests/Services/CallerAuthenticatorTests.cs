using Kv4.Engine.Model;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>The credential grammar of http-api.md §4 Credentials checked against stored hashes, with the login cache.</summary>
[Trait("Category", "Unit")]
public sealed class CallerAuthenticatorTests : IAsyncLifetime
{
    private ServiceHarness _h = null!;
    private Caller _elena = null!;
    private string _elenaSecret = null!;
    private string _lilySecret = null!;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        (_elena, _elenaSecret) = await _h.CreateAccountAsync("elena", password: "elena-password");
        (_, _lilySecret) = await _h.CreateAccountAsync("lily", _elena, password: "lily-password");
        await _h.PutAsync(_elena, "acc", "users/admins", """{"k":"boss","v":{"password":"hunter22"}}""");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task The_five_login_forms()
    {
        var sys = await _h.LoginAsync("$sys", ServiceHarness.SystemSecret);
        Assert.Equal(("$sys", "$sys", CallerKind.System), (sys!.Bucket, sys.Actor, sys.Kind));
        var elena = await _h.LoginAsync("elena", _elenaSecret);
        Assert.Equal(("elena", "elena", CallerKind.Account), (elena!.Bucket, elena.Actor, elena.Kind));
        var lily = await _h.LoginAsync("elena#lily", _lilySecret);
        Assert.Equal(("elena#lily", "elena#lily", CallerKind.SubAccount), (lily!.Bucket, lily.Actor, lily.Kind));
        var lilyByParent = await _h.LoginAsync("elena#lily", "!" + _elenaSecret);
        Assert.Equal(("elena#lily", "elena#lily", CallerKind.SubAccount), (lilyByParent!.Bucket, lilyByParent.Actor, lilyByParent.Kind));
        var boss = await _h.LoginAsync("elena", "boss#hunter22");
        Assert.Equal(("elena", "elena:boss", CallerKind.Admin), (boss!.Bucket, boss.Actor, boss.Kind));
        Assert.Equal(["admin"], boss.Roles);
    }

    [Theory]
    [InlineData("$sys", "wrong")]
    [InlineData("$sys", "")]
    [InlineData("elena", "00000000000000000000000000000000")]
    [InlineData("ghost", "00000000000000000000000000000000")]
    [InlineData("elena#ghost", "00000000000000000000000000000000")]
    [InlineData("ghost#lily", "00000000000000000000000000000000")]
    [InlineData("elena", "boss#wrong")]
    [InlineData("elena", "ghost#hunter22")]
    [InlineData("lily", "whatever")]
    [InlineData("", "")]
    public async Task Wrong_or_unknown_credentials_are_refused(string user, string password) =>
        Assert.Null(await _h.LoginAsync(user, password));

    [Fact]
    public async Task Secrets_do_not_cross_logins()
    {
        Assert.Null(await _h.LoginAsync("elena", _lilySecret));
        Assert.Null(await _h.LoginAsync("elena#lily", "!" + _lilySecret));
        Assert.Null(await _h.LoginAsync("elena#lily", _elenaSecret));
        Assert.Null(await _h.LoginAsync("$sys", _elenaSecret));
        Assert.Null(await _h.LoginAsync("elena", ServiceHarness.SystemSecret));
        // A password is not a secret: Basic logins take secrets (passwords are for admins and `_sess`).
        Assert.Null(await _h.LoginAsync("elena", "elena-password"));
    }

    [Fact]
    public async Task Password_logins_check_the_pbkdf2_hashes()
    {
        var auth = _h.Services.Authenticator;
        Assert.Equal("elena", (await auth.AuthenticatePasswordAsync("elena", "elena-password", null)).Caller?.Bucket);
        Assert.Equal("elena#lily", (await auth.AuthenticatePasswordAsync("elena#lily", "lily-password", null)).Caller?.Bucket);
        Assert.Equal("elena:boss", (await auth.AuthenticatePasswordAsync("elena:boss", "hunter22", null)).Caller?.Actor);
        Assert.Null((await auth.AuthenticatePasswordAsync("elena", _elenaSecret, null)).Caller);
        Assert.Null((await auth.AuthenticatePasswordAsync("elena", "wrong", null)).Caller);
        Assert.Null((await auth.AuthenticatePasswordAsync("$sys", ServiceHarness.SystemSecret, null)).Caller);
    }

    [Fact]
    public async Task A_new_secret_refuses_the_old_one_at_once()
    {
        Assert.NotNull(await _h.LoginAsync("elena#lily", _lilySecret)); // now cached
        var reply = (await _h.PostAsync(_elena, "acc", "accounts", """{"k":"lily","v":{"secret":true}}""")).Ok();
        var fresh = reply.GetProperty("secret").GetString()!;
        Assert.NotEqual(_lilySecret, fresh);
        Assert.Null(await _h.LoginAsync("elena#lily", _lilySecret));
        Assert.NotNull(await _h.LoginAsync("elena#lily", fresh));
    }

    [Fact]
    public async Task Deactivation_refuses_at_once_and_reactivation_restores()
    {
        Assert.NotNull(await _h.LoginAsync("elena#lily", _lilySecret));
        (await _h.PostAsync(_elena, "acc", "accounts", """{"k":"lily","v":{"active":false}}""")).Ok();
        Assert.Null(await _h.LoginAsync("elena#lily", _lilySecret));
        Assert.Null(await _h.LoginAsync("elena#lily", "!" + _elenaSecret));
        Assert.NotNull(await _h.LoginAsync("elena", _elenaSecret));
        (await _h.PostAsync(_elena, "acc", "accounts", """{"k":"lily","v":{"active":true}}""")).Ok();
        Assert.NotNull(await _h.LoginAsync("elena#lily", _lilySecret));
    }

    [Fact]
    public async Task An_inactive_top_level_account_blocks_every_login_into_its_buckets()
    {
        foreach (var (user, password) in Logins()) Assert.NotNull(await _h.LoginAsync(user, password));
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"elena","v":{"active":false}}""")).Ok();
        foreach (var (user, password) in Logins()) Assert.Null(await _h.LoginAsync(user, password));
        Assert.Null((await _h.Services.Authenticator.AuthenticatePasswordAsync("elena", "elena-password", null)).Caller);
    }

    [Fact]
    public async Task Deleted_accounts_and_their_sub_accounts_and_admins_are_refused_at_once()
    {
        foreach (var (user, password) in Logins()) Assert.NotNull(await _h.LoginAsync(user, password));
        (await _h.DeleteAsync(_h.Sys, "acc", "accounts", "k=elena")).Ok();
        foreach (var (user, password) in Logins()) Assert.Null(await _h.LoginAsync(user, password));
    }

    [Fact]
    public async Task A_deleted_sub_account_is_refused_at_once()
    {
        Assert.NotNull(await _h.LoginAsync("elena#lily", _lilySecret));
        (await _h.DeleteAsync(_elena, "acc", "accounts", "k=lily")).Ok();
        Assert.Null(await _h.LoginAsync("elena#lily", _lilySecret));
        Assert.NotNull(await _h.LoginAsync("elena", _elenaSecret));
    }

    [Fact]
    public async Task A_changed_admin_password_refuses_the_old_one_at_once()
    {
        Assert.NotNull(await _h.LoginAsync("elena", "boss#hunter22"));
        (await _h.PutAsync(_elena, "acc", "users/admins", """{"k":"boss","v":{"password":"new-one"}}""")).Ok();
        Assert.Null(await _h.LoginAsync("elena", "boss#hunter22"));
        Assert.NotNull(await _h.LoginAsync("elena", "boss#new-one"));
    }

    [Fact]
    public async Task A_successful_check_is_reused_until_it_expires()
    {
        Assert.NotNull(await _h.LoginAsync("elena", _elenaSecret));
        // Change the stored hash behind the services' back (no change signal): the cached check still answers...
        var address = new EntryAddress("$sys", "acc", "accounts", "elena");
        Assert.True(_h.Store.TryGetLatest(address, out var stored));
        var json = System.Text.Encoding.UTF8.GetString(stored.Json.Span);
        var tampered = System.Text.RegularExpressions.Regex.Replace(json, "\"secret_hash\":\"[^\"]*\"", "\"secret_hash\":\"hmac-sha256:AAAA\"");
        Assert.NotEqual(json, tampered);
        await _h.Store.PutAsync(address, System.Text.Encoding.UTF8.GetBytes(tampered), "test", default, new SecondaryKeys("elena@example.com"));
        _h.Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.NotNull(await _h.LoginAsync("elena", _elenaSecret));
        // ...until the cache period is over, then the store decides.
        _h.Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await _h.LoginAsync("elena", _elenaSecret));
    }

    [Fact]
    public async Task Logins_survive_a_restart()
    {
        await _h.RestartAsync();
        Assert.NotNull(await _h.LoginAsync("elena", _elenaSecret));
        Assert.NotNull(await _h.LoginAsync("elena#lily", _lilySecret));
        Assert.NotNull(await _h.LoginAsync("elena#lily", "!" + _elenaSecret));
        Assert.NotNull(await _h.LoginAsync("elena", "boss#hunter22"));
        Assert.NotNull(await _h.LoginAsync("$sys", ServiceHarness.SystemSecret));
        Assert.Null(await _h.LoginAsync("elena", _lilySecret));
    }

    private IEnumerable<(string, string)> Logins() =>
    [
        ("elena", _elenaSecret),
        ("elena#lily", _lilySecret),
        ("elena#lily", "!" + _elenaSecret),
        ("elena", "boss#hunter22"),
    ];
}

/// <summary>A caller authenticated earlier (as a bearer token carries it) loses its standing with its account.</summary>
[Trait("Category", "Unit")]
public sealed class CallerStandingTests
{
    [Fact]
    public async Task Callers_stay_active_until_their_account_changes()
    {
        await using var h = await ServiceHarness.StartAsync();
        var (elena, _) = await h.CreateAccountAsync("elena");
        var (lily, _) = await h.CreateAccountAsync("lily", elena);
        await h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"pw"}}""");
        var boss = (await h.LoginAsync("elena", "boss#pw"))!;
        var auth = h.Services.Authenticator;
        Assert.True(await auth.StandsAsync(h.Sys));
        Assert.True(await auth.StandsAsync(elena));
        Assert.True(await auth.StandsAsync(lily));
        Assert.True(await auth.StandsAsync(boss));

        await h.PostAsync(elena, "acc", "accounts", """{"k":"lily","v":{"active":false}}""");
        Assert.False(await auth.StandsAsync(lily));
        Assert.True(await auth.StandsAsync(elena));

        await h.DeleteAsync(elena, "acc", "users/admins", "k=boss");
        Assert.False(await auth.StandsAsync(boss));

        await h.PostAsync(elena, "acc", "accounts", """{"k":"lily","v":{"active":true}}""");
        Assert.True(await auth.StandsAsync(lily));
        await h.PostAsync(h.Sys, "acc", "accounts", """{"k":"elena","v":{"active":false}}""");
        Assert.False(await auth.StandsAsync(elena));
        Assert.False(await auth.StandsAsync(lily));

        await h.DeleteAsync(h.Sys, "acc", "accounts", "k=elena");
        Assert.False(await auth.StandsAsync(elena));
        Assert.False(await auth.StandsAsync(new Caller("ghost", "ghost", CallerKind.Account, [])));
    }
}
