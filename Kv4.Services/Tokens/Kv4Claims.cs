using System.Security.Claims;
using Kv4.Services.Api;

namespace Kv4.Services.Tokens;

/// <summary>
/// The claim names of Kv4's JWTs, and the one mapping from a validated token's claims back to a <see cref="Caller"/>.
/// Two kinds of token share them (claim <see cref="Use"/>):
/// <code>
/// access (from _sess):  {"sub":"elena","kv4_use":"access","kv4_bucket":"elena","kv4_actor":"elena","kv4_kind":"Account",
///                        "roles":["account"],"sid":"3f0c..","iss":"kv4","aud":"kv4","exp":..}
/// signal (from _token): {"sub":"alice","kv4_use":"signal","kv4_bucket":"elena","kv4_actor":"elena","kv4_kind":"Account",
///                        "roles":["signal"],"kv4_channel":"room/1","iss":"kv4","aud":"kv4","exp":..}
/// </code>
/// A signal token without <see cref="Channel"/> has no channel restriction. Hosts must validate with
/// MapInboundClaims off, so these names arrive unchanged.
/// </summary>
public static class Kv4Claims
{
    public const string Subject = "sub";
    public const string Use = "kv4_use";
    public const string Bucket = "kv4_bucket";
    public const string Actor = "kv4_actor";
    public const string Kind = "kv4_kind";
    public const string Roles = "roles";
    public const string Channel = "kv4_channel";
    public const string SessionId = "sid";

    public const string UseAccess = "access";
    public const string UseSignal = "signal";

    /// <summary>The role a `_token` token carries when it is presented as a bearer on the REST API.</summary>
    public const string SignalRole = "signal";

    public const string Issuer = "kv4";
    public const string Audience = "kv4";

    /// <summary>The caller a validated token stands for; null when a claim the caller needs is missing or malformed.</summary>
    public static Caller? ToCaller(IEnumerable<Claim> claims)
    {
        string? bucket = null, actor = null, kind = null, sid = null;
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
            }
        }
        if (bucket is null || actor is null || !Enum.TryParse<CallerKind>(kind, ignoreCase: false, out var callerKind))
            return null;
        return new Caller(bucket, actor, callerKind, roles, sid);
    }
}
