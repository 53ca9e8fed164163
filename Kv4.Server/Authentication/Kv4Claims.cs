namespace Kv4.Server.Authentication;

/// <summary>
/// The claim names that carry a <see cref="Kv4.Services.Api.Caller"/> in a ClaimsPrincipal and in the JWTs the
/// server issues (`_sess`, `_token`); the names are defined once, in <see cref="Kv4.Services.Tokens.Kv4Claims"/>, which issues them. Short names, because they travel in every bearer token. Example payload:
/// {"bucket":"elena#lily","actor":"elena#lily","kind":"subaccount","roles":["user"],"sid":"s-42","iss":"kv4","aud":"kv4","exp":..}
/// </summary>
public static class Kv4Claims
{
    public const string Bucket = Kv4.Services.Tokens.Kv4Claims.Bucket;
    public const string Actor = Kv4.Services.Tokens.Kv4Claims.Actor;
    /// <summary>The <see cref="Kv4.Services.Api.CallerKind"/> in lower case: system, account, subaccount, admin.</summary>
    public const string Kind = Kv4.Services.Tokens.Kv4Claims.Kind;
    /// <summary>One claim per role (a JSON array in a JWT).</summary>
    public const string Roles = Kv4.Services.Tokens.Kv4Claims.Roles;
    public const string SessionId = Kv4.Services.Tokens.Kv4Claims.SessionId;
}
