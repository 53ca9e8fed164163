namespace Kv4.Services.Turn;

/// <summary>
/// Configuration of the built-in TURN credential issuer, bound from `Kv4:Turn` (`Kv4:Turn:Hosts:0=HOST:PORT`,
/// `Kv4:Turn:Secret`, `Kv4:Turn:TtlSeconds`). These names are used outside the project; keep them.
/// The issuer is active only when at least one host and a secret are configured.
/// </summary>
public sealed class TurnOptions
{
    public const int DefaultTtlSeconds = 86_400;

    /// <summary>TURN hosts as "host:port" (the port defaults to 3478 when omitted).</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>The shared secret configured in coturn as `static-auth-secret`.</summary>
    public string? Secret { get; set; }

    /// <summary>How long an issued credential is valid. Default one day.</summary>
    public int TtlSeconds { get; set; } = DefaultTtlSeconds;

    public bool IsConfigured => Hosts.Count > 0 && !string.IsNullOrEmpty(Secret);
}
