namespace Kv4.Services.Api;

/// <summary>
/// Who is calling, once authenticated. <see cref="Bucket"/> is the only bucket the caller may touch;
/// it comes from the credentials, never from the URL. <see cref="Actor"/> is stamped into every version it writes.
/// <see cref="Kind"/> is the login form that vouches for it; a caller with a <see cref="Signal"/> scope came from a
/// `_token` token and is confined to that scope whatever its issuer's kind.
/// </summary>
public sealed record Caller(string Bucket, string Actor, CallerKind Kind, IReadOnlyList<string> Roles, string? SessionId = null)
{
    public const string SystemBucket = "$sys";

    /// <summary>The top-level account the bucket belongs to (`elena` for `elena` and `elena#lily`; `$sys` for the system).</summary>
    public string Ident => Bucket.IndexOf('#') is var i and >= 0 ? Bucket[..i] : Bucket;

    public bool IsSystem => Kind == CallerKind.System;

    /// <summary>
    /// The digest of the account records that vouched for this caller when it was admitted (see
    /// Kv4.Services.Accounts.CallerStanding); null for `$sys`, whose secret is configuration.
    /// </summary>
    public string? Standing { get; init; }

    /// <summary>Set when a `_token` token vouches for the caller: it may do only what the scope permits.</summary>
    public SignalScope? Signal { get; init; }
}
