using System.Net;
using Kv4.Services.Access;

namespace Kv4.Tests.Services;

[Trait("Category", "Unit")]
public class DenyRuleTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("203.0.113.7/32", "203.0.113.7")]
    [InlineData("10.0.0.0/8", "10.0.0.0/8")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("2001:DB8::/32", "2001:db8::/32")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("::ffff:10.0.0.1", "10.0.0.1")]
    public void Rules_have_one_canonical_text(string text, string canonical)
    {
        Assert.True(DenyRule.TryParse(text, out var rule));
        Assert.Equal(canonical, rule.Text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.1")]
    [InlineData("10.0.0.256")]
    [InlineData("0x0a.0.0.1")]
    [InlineData("10.1.2.3/16")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.0/")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("2001:db8::/129")]
    [InlineData("fe80::1%2")]
    [InlineData("example.com")]
    public void Malformed_rules_are_refused(string text) => Assert.False(DenyRule.TryParse(text, out _));

    [Fact]
    public void Networks_contain_their_addresses()
    {
        Assert.True(DenyRule.TryParse("10.0.0.0/8", out var v4));
        Assert.True(v4.Network.Contains(IPAddress.Parse("10.200.1.1")));
        Assert.False(v4.Network.Contains(IPAddress.Parse("11.0.0.1")));
        Assert.True(v4.Network.Contains(ClientAddress.Canonical(IPAddress.Parse("::ffff:10.1.1.1"))));
        Assert.True(DenyRule.TryParse("2001:db8::/32", out var v6));
        Assert.True(v6.Network.Contains(IPAddress.Parse("2001:db8:ffff::9")));
        Assert.False(v6.Network.Contains(IPAddress.Parse("2001:db9::1")));
    }
}
