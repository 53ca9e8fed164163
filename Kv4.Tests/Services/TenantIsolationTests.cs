using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>
/// At the service level, a caller reaches only its own bucket: same path, key, secondary key and layer in two
/// buckets never meet (top-level vs top-level, parent vs sub-account both ways, admin logins act as the parent).
/// The HTTP matrix is in the server tests.
/// </summary>
[Trait("Category", "Unit")]
public sealed class TenantIsolationTests : IAsyncLifetime
{
    private ServiceHarness _h = null!;
    private readonly Dictionary<string, Caller> _callers = [];

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        var (elena, _) = await _h.CreateAccountAsync("elena");
        var (bob, _) = await _h.CreateAccountAsync("bob");
        var (lily, _) = await _h.CreateAccountAsync("lily", elena);
        var (rose, _) = await _h.CreateAccountAsync("rose", bob);
        await _h.PutAsync(bob, "acc", "users/admins", """{"k":"boss","v":{"password":"pw"}}""");
        _callers["elena"] = elena;
        _callers["bob"] = bob;
        _callers["elena#lily"] = lily;
        _callers["bob#rose"] = rose;
        _callers["$sys"] = _h.Sys;
        foreach (var (name, caller) in _callers)
        {
            (await _h.PutAsync(caller, "data", "shared/path", $$"""{"k":"key","v":{"owner":"{{name}}"},"k2":"same-k2"}""")).Ok();
            (await _h.PutAsync(caller, "ns", $"room-{name.Replace('#', '-').Replace('$', 's')}", null)).Ok();
        }
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Theory]
    [InlineData("elena")]
    [InlineData("bob")]
    [InlineData("elena#lily")]
    [InlineData("bob#rose")]
    [InlineData("$sys")]
    public async Task Every_read_sees_only_the_callers_bucket(string name)
    {
        var caller = _callers[name];
        Assert.Equal(name, (await _h.GetAsync(caller, "data", "shared/path", "k=key")).Ok().GetProperty("owner").GetString());
        Assert.Equal(name, (await _h.GetAsync(caller, "data", "shared/path", "k2=same-k2")).Ok().GetProperty("owner").GetString());
        Assert.Equal(["key"], (await _h.GetAsync(caller, "data", "shared/path")).Strings());
        var history = (await _h.GetAsync(caller, "data", "shared/path", "time_series=1")).Ok();
        Assert.Equal(1, history.GetArrayLength());
        Assert.Equal(name, history[0][1].GetString());
        Assert.Equal(name, history[0][2].GetProperty("owner").GetString());
        Assert.Single((await _h.GetAsync(caller, "ns")).Strings());
        Assert.Equal(["shared/path"], (await _h.GetAsync(caller, "ds", "", "l=data")).Strings());
    }

    [Fact]
    public async Task Writes_and_deletes_stay_in_the_callers_bucket()
    {
        Assert.Equal(1, (await _h.DeleteAsync(_callers["elena"], "data", "shared")).Ok().GetInt32());
        Assert.Equal(0, (await _h.DeleteAsync(_callers["elena"], "data", "shared/path", "k=key")).Ok().GetInt32());
        foreach (var other in new[] { "bob", "elena#lily", "bob#rose", "$sys" })
            Assert.Equal(other, (await _h.GetAsync(_callers[other], "data", "shared/path", "k=key")).Ok().GetProperty("owner").GetString());
    }

    [Fact]
    public async Task A_version_from_another_bucket_is_no_key_for_compare_and_set()
    {
        var bobVersion = (await _h.GetAsync(_callers["bob"], "data", "shared/path", "k=key")).Ok().GetProperty("_ver_").GetString();
        (await _h.PostAsync(_callers["elena"], "data", "shared/path", $$"""{"k":"key","v":{"owner":"x"},"_ver_":"{{bobVersion}}"}""")).Is("version_conflict");
        Assert.Equal("bob", (await _h.GetAsync(_callers["bob"], "data", "shared/path", "k=key")).Ok().GetProperty("owner").GetString());
    }

    [Fact]
    public async Task Accounts_are_visible_only_to_their_parent()
    {
        Assert.Equal(["lily"], (await _h.GetAsync(_callers["elena"], "acc", "accounts")).Strings());
        Assert.Equal(["rose"], (await _h.GetAsync(_callers["bob"], "acc", "accounts")).Strings());
        (await _h.GetAsync(_callers["elena"], "acc", "accounts", "k=rose")).Is("not_found");
        (await _h.GetAsync(_callers["elena"], "acc", "accounts", "k=bob")).Is("not_found");
        (await _h.GetAsync(_callers["elena"], "acc", "accounts", "k2=rose@example.com")).Is("not_found");
        Assert.Equal(0, (await _h.DeleteAsync(_callers["elena"], "acc", "accounts", "k=rose")).Ok().GetInt32());
        Assert.NotNull(await _h.LoginAsync("bob#rose", "!" + (await BobSecretAsync())));
        // A POST naming bob's sub-account from elena is a create in elena's own bucket (POST creates an absent name):
        // without an email it is refused, and bob's rose is untouched either way.
        (await _h.PostAsync(_callers["elena"], "acc", "accounts", """{"k":"rose","v":{"active":false}}""")).Is("bad_email");
        Assert.NotNull(await _h.LoginAsync("bob#rose", "!" + (await BobSecretAsync())));
        Assert.Empty((await _h.GetAsync(_callers["elena"], "acc", "users/admins")).Strings());
        (await _h.GetAsync(_callers["elena"], "acc", "users/admins", "k=boss")).Is("not_found");
    }

    [Fact]
    public async Task An_admin_acts_on_its_accounts_bucket_only()
    {
        var boss = (await _h.LoginAsync("bob", "boss#pw"))!;
        Assert.Equal("bob", (await _h.GetAsync(boss, "data", "shared/path", "k=key")).Ok().GetProperty("owner").GetString());
        Assert.Null(await _h.LoginAsync("elena", "boss#pw"));
        Assert.Null(await _h.LoginAsync("bob#rose", "boss#pw"));
    }

    [Fact]
    public async Task A_sub_account_cannot_log_in_under_another_parent()
    {
        Assert.Null(await _h.LoginAsync("bob#lily", "!" + (await BobSecretAsync())));
        Assert.Null(await _h.LoginAsync("elena#rose", "!" + (await BobSecretAsync())));
    }

    private async Task<string> BobSecretAsync()
    {
        var fresh = (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"bob","v":{"secret":true}}""")).Ok().GetProperty("secret").GetString()!;
        return fresh;
    }
}
