using System.Net;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>`_auth` (http-api.md §5.10) writes the deny list, <see cref="Kv4.Services.Access.AccessPolicy"/> enforces it.</summary>
[Trait("Category", "Unit")]
public sealed class AuthServiceTests : IAsyncLifetime
{
    private ServiceHarness _h = null!;
    private Caller _elena = null!;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        (_elena, _) = await _h.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private bool Denied(string bucket, string path, string address) =>
        _h.Services.AccessPolicy.IsDenied(bucket, path, IPAddress.Parse(address));

    [Fact]
    public async Task An_address_is_denied_on_its_path_and_below_only()
    {
        Assert.Equal("203.0.113.7", (await _h.PutAsync(_elena, "auth", "rooms", """{"k":"203.0.113.7"}""")).Ok().GetString());
        Assert.True(Denied("elena", "rooms", "203.0.113.7"));
        Assert.True(Denied("elena", "rooms/lobby/x", "203.0.113.7"));
        Assert.True(Denied("elena", "rooms/lobby", "::ffff:203.0.113.7"));
        Assert.False(Denied("elena", "roomsx", "203.0.113.7"));
        Assert.False(Denied("elena", "", "203.0.113.7"));
        Assert.False(Denied("elena", "other", "203.0.113.7"));
        Assert.False(Denied("elena", "rooms", "203.0.113.8"));
        Assert.False(Denied("bob", "rooms", "203.0.113.7"));
        Assert.False(Denied("elena#lily", "rooms", "203.0.113.7"));
    }

    [Fact]
    public async Task Rules_have_a_history_read_by_their_canonical_form()
    {
        (await _h.PutAsync(_elena, "auth", "rooms", """{"k":"2001:DB8::7"}""")).Ok();
        (await _h.PutAsync(_elena, "auth", "rooms", """{"k":"203.0.113.0/24"}""")).Ok();
        Assert.Equal(1, (await _h.DeleteAsync(_elena, "auth", "rooms", "k=2001:db8::7")).Ok().GetInt32());
        var one = (await _h.GetAsync(_elena, "auth", "rooms", "k=2001:0db8:0::7&time_series=1")).Ok();
        Assert.Equal(2, one.GetArrayLength());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, one[0][2].ValueKind);
        Assert.Equal("2001:db8::7", one[1][2].GetString());
        Assert.Equal("elena", one[1][1].GetString());
        Assert.Equal(3, (await _h.GetAsync(_elena, "auth", "rooms", "time_series=1")).Ok().GetArrayLength());
        (await _h.GetAsync(_elena, "auth", "rooms", "k=not-an-address&time_series=1")).Is("bad_param");
    }

    [Fact]
    public async Task Networks_v4_and_v6_are_denied_and_lifted()
    {
        (await _h.PutAsync(_elena, "auth", "", """{"k":"10.0.0.0/8"}""")).Ok();
        Assert.Equal("2001:db8::/32", (await _h.PutAsync(_elena, "auth", "", """{"k":"2001:DB8::/32"}""")).Ok().GetString());
        Assert.True(Denied("elena", "any/path", "10.200.0.1"));
        Assert.True(Denied("elena", "", "2001:db8:1::5"));
        Assert.False(Denied("elena", "", "11.0.0.1"));
        Assert.False(Denied("elena", "", "2001:db9::1"));
        Assert.Equal(["10.0.0.0/8", "2001:db8::/32"], (await _h.GetAsync(_elena, "auth")).Strings());

        Assert.Equal(1, (await _h.DeleteAsync(_elena, "auth", "", "k=10.0.0.0/8")).Ok().GetInt32());
        Assert.Equal(0, (await _h.DeleteAsync(_elena, "auth", "", "k=10.0.0.0/8")).Ok().GetInt32());
        Assert.False(Denied("elena", "any/path", "10.200.0.1"));
        Assert.True(Denied("elena", "", "2001:db8:1::5"));
        Assert.Equal(1, (await _h.DeleteAsync(_elena, "auth", "", "k=2001:db8:0::/32")).Ok().GetInt32());
        Assert.False(Denied("elena", "", "2001:db8:1::5"));
    }

    [Fact]
    public async Task Deleting_a_path_lifts_every_rule_below()
    {
        await _h.PutAsync(_elena, "auth", "a", """{"k":"192.0.2.1"}""");
        await _h.PutAsync(_elena, "auth", "a/b", """{"k":"192.0.2.2"}""");
        await _h.PutAsync(_elena, "auth", "c", """{"k":"192.0.2.3"}""");
        Assert.Equal(2, (await _h.DeleteAsync(_elena, "auth", "a")).Ok().GetInt32());
        Assert.False(Denied("elena", "a/b", "192.0.2.2"));
        Assert.False(Denied("elena", "a", "192.0.2.1"));
        Assert.True(Denied("elena", "c", "192.0.2.3"));
    }

    [Theory]
    [InlineData("""{"k":"10.1.2.3/16"}""", "bad_param")]
    [InlineData("""{"k":"example.com"}""", "bad_param")]
    [InlineData("""{"k":"10.1"}""", "bad_param")]
    [InlineData("""{"v":"10.0.0.1"}""", "bad_param")]
    [InlineData("""{"k":"10.0.0.1""", "bad_json")]
    public async Task Bad_rules_are_refused_and_nothing_is_written(string body, string code)
    {
        (await _h.PutAsync(_elena, "auth", "p", body)).Is(code);
        Assert.Empty((await _h.GetAsync(_elena, "auth", "p")).Strings());
        (await _h.DeleteAsync(_elena, "auth", "p", "k=nonsense")).Is("bad_param");
        (await _h.PostAsync(_elena, "auth", "p", """{"k":"10.0.0.1"}""")).Is("method_not_allowed");
    }

    [Fact]
    public async Task The_policy_is_rebuilt_from_the_store_after_a_restart()
    {
        await _h.PutAsync(_elena, "auth", "rooms", """{"k":"198.51.100.0/24"}""");
        await _h.RestartAsync();
        Assert.True(Denied("elena", "rooms/x", "198.51.100.9"));
        Assert.False(Denied("elena", "other", "198.51.100.9"));
    }

    [Fact]
    public async Task Deleting_the_account_forgets_its_rules()
    {
        await _h.PutAsync(_elena, "auth", "", """{"k":"198.51.100.1"}""");
        Assert.True(Denied("elena", "", "198.51.100.1"));
        await _h.DeleteAsync(_h.Sys, "acc", "accounts", "k=elena");
        Assert.False(Denied("elena", "", "198.51.100.1"));
        var (again, _) = await _h.CreateAccountAsync("elena");
        Assert.Empty((await _h.GetAsync(again, "auth")).Strings());
        Assert.False(Denied("elena", "", "198.51.100.1"));
    }
}
