using System.Security.Cryptography;
using Kv4.Services.Api;
using Kv4.Services.Sessions;
using Kv4.Services.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Tests.Realtime;

[Trait("Category", "Unit")]
public sealed class TokenAuthorityTests
{
    private static readonly Caller Elena = new("elena", "elena", CallerKind.Account, ["account"]);

    private static SymmetricSecurityKey NewKey() => new(RandomNumberGenerator.GetBytes(64));

    [Fact]
    public async Task A_signal_token_carries_user_channel_and_issuer_bucket()
    {
        var authority = new TokenAuthority(NewKey());
        var token = authority.IssueSignalToken(Elena, "alice", "room/1", TimeSpan.FromMinutes(1));
        var ticket = await authority.ValidateSignalAsync(token);
        Assert.NotNull(ticket);
        Assert.Equal("alice", ticket.User);
        Assert.Equal("room/1", ticket.Channel);
        Assert.Equal("elena", ticket.Bucket);
        Assert.Equal(["signal"], ticket.Issuer.Roles);
    }

    [Fact]
    public async Task A_token_without_expiry_validates_and_has_no_channel_restriction()
    {
        var authority = new TokenAuthority(NewKey());
        var token = authority.IssueSignalToken(Elena, "bob", null, null);
        var ticket = await authority.ValidateSignalAsync(token);
        Assert.NotNull(ticket);
        Assert.Null(ticket.Channel);
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var key = NewKey();
        var past = new FixedClock(DateTimeOffset.UtcNow.AddHours(-1));
        var token = new TokenAuthority(key, past).IssueSignalToken(Elena, "alice", "room", TimeSpan.FromSeconds(60));
        Assert.Null(await new TokenAuthority(key).ValidateSignalAsync(token));
    }

    [Fact]
    public async Task A_token_signed_with_another_key_or_tampered_is_refused()
    {
        var token = new TokenAuthority(NewKey()).IssueSignalToken(Elena, "alice", "room", TimeSpan.FromMinutes(1));
        Assert.Null(await new TokenAuthority(NewKey()).ValidateSignalAsync(token));
        var authority = new TokenAuthority(NewKey());
        var good = authority.IssueSignalToken(Elena, "alice", "room", TimeSpan.FromMinutes(1));
        var parts = good.Split('.');
        var tampered = parts[0] + "." + parts[1].Replace('A', 'B') + "x." + parts[2];
        Assert.Null(await authority.ValidateSignalAsync(tampered));
        Assert.Null(await authority.ValidateSignalAsync("not-a-jwt"));
        Assert.Null(await authority.ValidateSignalAsync(""));
    }

    [Fact]
    public async Task An_access_token_maps_back_to_its_caller_and_is_refused_once_revoked()
    {
        var revoked = new HashSet<string>();
        var authority = new TokenAuthority(NewKey(), sessions: new SetRegistry(revoked));
        var token = authority.IssueAccessToken(Elena, "s1", TimeSpan.FromMinutes(5));
        var identity = await authority.ValidateAsync(token);
        Assert.NotNull(identity);
        var caller = Kv4Claims.ToCaller(identity.Claims);
        Assert.NotNull(caller);
        Assert.Equal(("elena", "elena", CallerKind.Account, "s1"), (caller.Bucket, caller.Actor, caller.Kind, caller.SessionId));
        Assert.Equal(["account"], caller.Roles);
        // An access token is not a signal token.
        Assert.Null(await authority.ValidateSignalAsync(token));

        revoked.Add("s1");
        Assert.Null(await authority.ValidateAsync(token));
    }

    private sealed class SetRegistry(HashSet<string> revoked) : ISessionRegistry
    {
        public ValueTask<bool> IsRevokedAsync(string bucket, string sessionId, CancellationToken cancellationToken = default) =>
            new(revoked.Contains(sessionId));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
