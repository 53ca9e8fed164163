namespace Kv4.Server.Authentication;

/// <summary>
/// The claim names that carry a <see cref="Kv4.Services.Api.Caller"/> in a ClaimsPrincipal and in the JWTs the
/// server issues (`_sess`, `_token`). Short names, because they travel in every bearer token. Example payload:
/// {"bucket":"elena#lily","actor":"elena#lily","kind":"subaccount","roles":["user"],"sid":"s-42","iss":"kv4","aud":"kv4","exp":..}
/// </summary>
public static class Kv4Claims
{
    public const string Bucket = "bucket";
    public const string Actor = "actor";
    /// <summary>The <see cref="Kv4.Services.Api.CallerKind"/> in lower case: system, account, subaccount, admin.</summary>
    public const string Kind = "kind";
    /// <summary>One claim per role (a JSON array in a JWT).</summary>
    public const string Roles = "roles";
    public const string SessionId = "sid";
}
