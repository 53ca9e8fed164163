using System.Security.Claims;
using Kv4.Services.Api;
using Kv4.Services.Sessions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Services.Tokens;

/// <summary>
/// Issues and verifies Kv4's JWTs (HMAC-SHA256 over the key of <see cref="SigningKeySource"/>), so the issuer
/// and every verifier — the REST bearer check, the signal WebSocket, any node — agree on key, issuer,
/// audience and clock skew. Access tokens are also refused once their session is revoked.
/// </summary>
public sealed class TokenAuthority
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials _credentials;
    private readonly TimeProvider _clock;
    private readonly ISessionRegistry? _sessions;

    /// <summary>
    /// Signs with <paramref name="credentials"/> and verifies with <paramref name="validation"/> — the host passes the
    /// ones every door validates with, so there is one key source (`Kv4:Jwt:SigningKey` or the data directory's key file).
    /// Tokens carry validation's ValidIssuer and ValidAudience.
    /// </summary>
    public TokenAuthority(SigningCredentials credentials, TokenValidationParameters validation, ISessionRegistry? sessions = null, TimeProvider? clock = null)
    {
        _credentials = credentials;
        ValidationParameters = validation;
        _sessions = sessions;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>For tests and tools: HMAC-SHA256 over <paramref name="key"/>, issuer and audience "kv4".</summary>
    public TokenAuthority(SecurityKey key, TimeProvider? clock = null, ISessionRegistry? sessions = null)
        : this(new SigningCredentials(key, SecurityAlgorithms.HmacSha256), Validation(key, Kv4Claims.DefaultIssuer, Kv4Claims.DefaultAudience), sessions, clock)
    {
    }

    /// <summary>
    /// The clock skew every door allows: a token with `expire=1` is refused from 6 s after it was issued, whether
    /// it comes to the REST API, a watch or the signal WebSocket.
    /// </summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    /// <summary>The one validation of Kv4's JWTs: HMAC-SHA256 over <paramref name="key"/>, this issuer and audience, <see cref="ClockSkew"/>.</summary>
    public static TokenValidationParameters Validation(SecurityKey key, string issuer, string audience) => new()
    {
        ValidIssuer = issuer,
        ValidAudience = audience,
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        // `_token?expire=0` issues tokens without expiry (http-api.md §5.4); those carry no exp claim.
        RequireExpirationTime = false,
        ClockSkew = ClockSkew,
        NameClaimType = Kv4Claims.Actor,
        RoleClaimType = Kv4Claims.Roles,
    };

    public TokenValidationParameters ValidationParameters { get; }

    /// <summary>
    /// A `_token` token: lets <paramref name="user"/> join <paramref name="channel"/> (null: any channel) of the
    /// issuer's bucket. <paramref name="lifetime"/> null means no expiry. An issuer that logged in with `_sess` binds
    /// the token to its session.
    /// </summary>
    public string IssueSignalToken(Caller issuer, string user, string? channel, TimeSpan? lifetime)
    {
        var claims = BaseClaims(issuer, Kv4Claims.UseSignal);
        // Minted under a `_sess` login: revoking that session also refuses the tokens it minted, expire=0 ones included.
        if (issuer.SessionId is not null) claims[Kv4Claims.SessionId] = issuer.SessionId;
        claims[Kv4Claims.Subject] = user;
        claims[Kv4Claims.Roles] = new[] { Kv4Claims.SignalRole };
        if (channel is not null) claims[Kv4Claims.Channel] = channel;
        return Create(claims, lifetime);
    }

    /// <summary>A `_sess` access token: the caller's identity, bucket and roles, bound to a session.</summary>
    public string IssueAccessToken(Caller caller, string sessionId, TimeSpan lifetime)
    {
        var claims = BaseClaims(caller, Kv4Claims.UseAccess);
        claims[Kv4Claims.Roles] = caller.Roles.ToArray();
        claims[Kv4Claims.SessionId] = sessionId;
        return Create(claims, lifetime);
    }

    /// <summary>Checks signature, issuer, audience, lifetime and (for access tokens) revocation. Null: refused.</summary>
    public async ValueTask<ClaimsIdentity?> ValidateAsync(string token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenChars) return null;
        var result = await _handler.ValidateTokenAsync(token, ValidationParameters).ConfigureAwait(false);
        if (!result.IsValid || result.ClaimsIdentity is not { } identity) return null;
        return await IsRevokedAsync(identity.Claims, cancellationToken).ConfigureAwait(false) ? null : identity;
    }

    /// <summary>The check a host runs after its own JWT validation: true when the token's session was revoked (or is gone).</summary>
    public ValueTask<bool> IsRevokedAsync(IEnumerable<Claim> claims, CancellationToken cancellationToken = default)
    {
        string? sid = null, bucket = null;
        foreach (var claim in claims)
        {
            if (claim.Type == Kv4Claims.SessionId) sid = claim.Value;
            else if (claim.Type == Kv4Claims.Bucket) bucket = claim.Value;
        }
        if (sid is null) return new(false);
        return bucket is null || _sessions is null ? new(true) : _sessions.IsRevokedAsync(bucket, sid, cancellationToken);
    }

    /// <summary>A valid signal token as the WebSocket needs it; null when refused or not a signal token.</summary>
    public async ValueTask<SignalTicket?> ValidateSignalAsync(string token, CancellationToken cancellationToken = default)
    {
        var identity = await ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (identity is null || identity.FindFirst(Kv4Claims.Use)?.Value != Kv4Claims.UseSignal) return null;
        var caller = Kv4Claims.ToCaller(identity.Claims);
        var user = identity.FindFirst(Kv4Claims.Subject)?.Value;
        if (caller is null || user is null) return null;
        return new SignalTicket(caller, user, identity.FindFirst(Kv4Claims.Channel)?.Value);
    }

    /// <summary>Bounds what a verifier reads from a URL or header before any parsing.</summary>
    public const int MaxTokenChars = 8192;

    private static Dictionary<string, object> BaseClaims(Caller caller, string use)
    {
        var claims = new Dictionary<string, object>
        {
            [Kv4Claims.Use] = use,
            [Kv4Claims.Bucket] = caller.Bucket,
            [Kv4Claims.Actor] = caller.Actor,
            [Kv4Claims.Kind] = Kv4Claims.KindName(caller.Kind),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        if (caller.Standing is not null) claims[Kv4Claims.Standing] = caller.Standing;
        return claims;
    }

    private string Create(Dictionary<string, object> claims, TimeSpan? lifetime)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = ValidationParameters.ValidIssuer,
            Audience = ValidationParameters.ValidAudience,
            IssuedAt = now,
            Claims = claims,
            SigningCredentials = _credentials,
        };
        if (lifetime is { } span)
        {
            descriptor.NotBefore = now;
            descriptor.Expires = now + span;
        }
        return _handler.CreateToken(descriptor);
    }
}
