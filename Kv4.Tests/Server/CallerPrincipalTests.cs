using System.Security.Claims;
using Kv4.Server.Authentication;
using Kv4.Services.Api;

namespace Kv4.Tests.Server;

/// <summary>The one mapping between a caller and its claims keeps a `_token` caller's scope both ways.</summary>
[Trait("Category", "Unit")]
public sealed class CallerPrincipalTests
{
    [Theory]
    [InlineData("room")]
    [InlineData(null)]
    public void A_signal_scoped_caller_keeps_its_scope_through_its_claims(string? channel)
    {
        var caller = new Caller("elena", "elena", CallerKind.Account, ["signal"]) { Signal = new SignalScope(channel) };
        var back = CallerPrincipal.From(new ClaimsPrincipal(new ClaimsIdentity(CallerPrincipal.ToClaims(caller), "test")));
        Assert.NotNull(back);
        Assert.Equal(new SignalScope(channel), back.Signal);
        Assert.Equal(("elena", "elena", CallerKind.Account), (back.Bucket, back.Actor, back.Kind));
    }

    [Fact]
    public void A_full_caller_gets_no_scope_back()
    {
        var caller = new Caller("elena", "elena", CallerKind.Account, ["account"], "s-1");
        var back = CallerPrincipal.From(new ClaimsPrincipal(new ClaimsIdentity(CallerPrincipal.ToClaims(caller), "test")));
        Assert.NotNull(back);
        Assert.Null(back.Signal);
        Assert.Equal("s-1", back.SessionId);
    }
}
