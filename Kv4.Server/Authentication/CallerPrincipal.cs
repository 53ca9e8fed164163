using System.Security.Claims;
using Kv4.Services.Api;
using Kv4.Services.Tokens;

namespace Kv4.Server.Authentication;

/// <summary>
/// The one mapping between a <see cref="Caller"/> and a ClaimsPrincipal, both ways. A Basic login carries the
/// Caller object itself (<see cref="CallerIdentity"/>), so the hot path builds no claims; a JWT carries the
/// <see cref="Kv4Claims"/>, which are read back here.
/// </summary>
public static class CallerPrincipal
{
    public static ClaimsPrincipal Create(Caller caller, string authenticationType) => new(new CallerIdentity(caller, authenticationType));

    /// <summary>The authenticated caller, or null (anonymous, or a token without the Kv4 claims).</summary>
    public static Caller? From(ClaimsPrincipal? user)
    {
        if (user is null) return null;
        foreach (var identity in user.Identities)
        {
            if (identity is CallerIdentity callerIdentity) return callerIdentity.Caller;
            if (identity.IsAuthenticated && FromClaims(identity) is { } caller) return caller;
        }
        return null;
    }

    /// <summary>The claims a token must carry to stand for <paramref name="caller"/>.</summary>
    public static IEnumerable<Claim> ToClaims(Caller caller)
    {
        yield return new Claim(Kv4Claims.Bucket, caller.Bucket);
        yield return new Claim(Kv4Claims.Actor, caller.Actor);
        yield return new Claim(Kv4Claims.Kind, Kv4.Services.Tokens.Kv4Claims.KindName(caller.Kind));
        foreach (var role in caller.Roles) yield return new Claim(Kv4Claims.Roles, role);
        if (caller.SessionId is not null) yield return new Claim(Kv4Claims.SessionId, caller.SessionId);
        // A signal-scoped caller keeps its scope through a round trip (FromClaims reads these back).
        if (caller.Signal is { } scope)
        {
            yield return new Claim(Kv4.Services.Tokens.Kv4Claims.Use, Kv4.Services.Tokens.Kv4Claims.UseSignal);
            if (scope.Channel is not null) yield return new Claim(Kv4.Services.Tokens.Kv4Claims.Channel, scope.Channel);
        }
    }

    private static Caller? FromClaims(ClaimsIdentity identity) => Kv4.Services.Tokens.Kv4Claims.ToCaller(identity.Claims);

    /// <summary>An identity that is a Caller: claims are produced only if someone asks for them.</summary>
    private sealed class CallerIdentity(Caller caller, string authenticationType)
        : ClaimsIdentity(authenticationType, Kv4Claims.Actor, Kv4Claims.Roles)
    {
        private List<Claim>? _claims;

        public Caller Caller { get; } = caller;

        public override IEnumerable<Claim> Claims => _claims ??= ToClaims(Caller).Select(c => new Claim(c.Type, c.Value, c.ValueType, c.Issuer, c.OriginalIssuer, this)).ToList();

        public override string? Name => Caller.Actor;
    }
}
