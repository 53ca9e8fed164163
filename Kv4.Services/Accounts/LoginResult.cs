using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// What a login check answers: the <see cref="Caller"/> when accepted; when refused, either nothing (unknown name,
/// wrong secret, inactive) or, for a login or client address that failed too often, how long to wait before the
/// next attempt is checked at all. A host answers the first `unauthorized` and the
/// second `rate_limited`.
/// </summary>
public readonly record struct LoginResult(Caller? Caller, TimeSpan RetryAfter)
{
    public static LoginResult Refused => default;

    public bool Throttled => RetryAfter > TimeSpan.Zero;

    public static LoginResult Accepted(Caller caller) => new(caller, TimeSpan.Zero);

    public static LoginResult Wait(TimeSpan retryAfter) => new(null, retryAfter);
}
