namespace Kv4.Services.Accounts;

/// <summary>
/// How failed logins are throttled (configuration section `Kv4:Login`, see <see cref="LoginThrottle"/>). On by
/// default; 0 for an allowance turns that count off.
/// </summary>
public sealed class LoginOptions
{
    /// <summary>Failures of one login (`elena`, `elena#lily`, `elena:boss`, `$sys`) before its attempts must wait.</summary>
    public int FailuresAllowed { get; set; } = 5;

    /// <summary>Failures from one client address (an IPv6 client by its /64), whatever the login, before its attempts must wait.</summary>
    public int AddressFailuresAllowed { get; set; } = 20;

    /// <summary>A count is forgotten this long after its last failure (once its wait is over).</summary>
    public int WindowSeconds { get; set; } = 900;

    /// <summary>The first wait, once the allowance is used up; it doubles with each further failure.</summary>
    public int DelaySeconds { get; set; } = 1;

    /// <summary>The longest wait.</summary>
    public int MaxDelaySeconds { get; set; } = 60;

    /// <summary>The most logins, and the most addresses, whose failures are remembered at once (bounds the memory).</summary>
    public int MaxTracked { get; set; } = 20_000;

    public bool IsValid => FailuresAllowed >= 0 && AddressFailuresAllowed >= 0 && WindowSeconds > 0 && DelaySeconds >= 1
        && MaxDelaySeconds >= DelaySeconds && MaxTracked >= 4;
}
