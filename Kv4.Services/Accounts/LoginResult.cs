using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// What a login check answers: the <see cref="Caller"/> when accepted. Refused, either plainly (unknown name, wrong
/// secret, inactive: the host answers `unauthorized`) or, for a login or client address that failed too often
/// (<see cref="LoginThrottle"/>), with how long to wait before the next attempt is checked at all (`rate_limited`).
/// </summary>
public readonly record struct LoginResult(Caller? Caller, TimeSpan RetryAfter)
{
    public static LoginResult Refused => default;

    public bool Throttled => RetryAfter > TimeSpan.Zero;

    public static LoginResult Accepted(Caller caller) => new(caller, TimeSpan.Zero);

    public static LoginResult Wait(TimeSpan retryAfter) => new(null, retryAfter);
}
