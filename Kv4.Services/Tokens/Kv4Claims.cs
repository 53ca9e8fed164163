using System.Security.Claims;
using Kv4.Services.Api;

namespace Kv4.Services.Tokens;

/// <summary>
/// The claim names of Kv4's JWTs (admission reads the same names), and the mapping from a
/// validated token's claims back to a <see cref="Caller"/> for the signal WebSocket. Two uses share them:
/// <code>
/// access (from _sess):  {"bucket":"elena","actor":"elena","kind":"account","roles":["account"],"sid":"3f0c..",
///                        "std":"q3J0..","use":"access","iss":"kv4","aud":"kv4","exp":..}
/// signal (from _token): {"bucket":"elena","actor":"elena","kind":"account","roles":["signal"],"sub":"alice",
///                        "channel":"room/1","std":"q3J0..","use":"signal","iss":"kv4","aud":"kv4","exp":..}
/// </code>
/// A signal token without "channel" has no channel restriction. Verifiers run with MapInboundClaims off, so these
/// names arrive unchanged. As a REST bearer a signal token acts for its issuer's bucket but only within its
/// <see cref="SignalScope"/> (http-api.md §4 Credentials accepts `_token` bearers).
/// </summary>
public static class Kv4Claims
{
    public const string Bucket = "bucket";
    public const string Actor = "actor";
    /// <summary>The <see cref="CallerKind"/> in lower case: system, account, subaccount, admin.</summary>
    public const string Kind = "kind";
    public const string Roles = "roles";
    public const string SessionId = "sid";
    /// <summary>The issuer's <see cref="Caller.Standing"/>: a token outlives neither a re-created account nor a new secret or password.</summary>
    public const string Standing = "std";
    /// <summary>"access" or "signal".</summary>
    public const string Use = "use";
    /// <summary>Signal tokens: the user who joins.</summary>
    public const string Subject = "sub";
    /// <summary>Signal tokens: the only channel they may join.</summary>
    public const string Channel = "channel";

    public const string UseAccess = "access";
    public const string UseSignal = "signal";

    /// <summary>The role a `_token` token carries when it is presented as a bearer on the REST API.</summary>
    public const string SignalRole = "signal";

    public const string DefaultIssuer = "kv4";
    public const string DefaultAudience = "kv4";

    public static string KindName(CallerKind kind) => kind switch
    {
        CallerKind.System => "system",
        CallerKind.Account => "account",
        CallerKind.SubAccount => "subaccount",
        CallerKind.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParseKind(string? name, out CallerKind kind)
    {
        foreach (var candidate in Enum.GetValues<CallerKind>())
            if (KindName(candidate) == name)
            {
                kind = candidate;
                return true;
            }
        kind = default;
        return false;
    }

    /// <summary>
    /// The caller a validated token stands for (a signal token's caller carries its <see cref="SignalScope"/>); null
    /// when a claim the caller needs is missing or malformed. The one mapping from claims to a caller.
    /// </summary>
    public static Caller? ToCaller(IEnumerable<Claim> claims)
    {
        string? bucket = null, actor = null, kind = null, sid = null, use = null, channel = null, standing = null;
        var roles = new List<string>();
        foreach (var claim in claims)
        {
            switch (claim.Type)
            {
                case Bucket: bucket = claim.Value; break;
                case Actor: actor = claim.Value; break;
                case Kind: kind = claim.Value; break;
                case SessionId: sid = claim.Value; break;
                case Roles: roles.Add(claim.Value); break;
                case Use: use = claim.Value; break;
                case Channel: channel = claim.Value; break;
                case Standing: standing = claim.Value; break;
            }
        }
        if (bucket is null || actor is null || !Kv4.Engine.Rules.AddressRules.IsValidBucket(bucket) || !TryParseKind(kind, out var callerKind))
            return null;
        return new Caller(bucket, actor, callerKind, roles, sid)
        {
            Standing = standing,
            Signal = use == UseSignal ? new SignalScope(channel) : null,
        };
    }
}
