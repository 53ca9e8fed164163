using Kv4.Services.Api;

namespace Kv4.Services.Tokens;

/// <summary>
/// What a valid `_token` token grants: <see cref="User"/> may join <see cref="Channel"/> (null: any channel
/// the connection names) in <see cref="Issuer"/>'s bucket.
/// </summary>
public sealed record SignalTicket(Caller Issuer, string User, string? Channel)
{
    public string Bucket => Issuer.Bucket;
}
