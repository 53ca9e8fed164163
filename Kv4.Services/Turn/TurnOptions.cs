namespace Kv4.Services.Turn;

/// <summary>
/// Configuration of the built-in TURN credential issuer, bound from `Kv4:Turn` (`Kv4:Turn:Hosts:0=HOST:PORT`,
/// `Kv4:Turn:Secret`, `Kv4:Turn:TtlSeconds`, `Kv4:Turn:Ice:0=turn:80?transport=udp`, and per host
/// `Kv4:Turn:Servers:0:Host=HOST:PORT` with `Kv4:Turn:Servers:0:Ice:0=..`). These names are used outside the project;
/// keep them. The issuer is active only when at least one host and a secret are configured.
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

    /// <summary>
    /// The ICE entries (<see cref="IceEntry"/>) every host of <see cref="Hosts"/> is offered as; empty: the Xirsys v3 set
    /// (<see cref="IceEntry.DefaultSet"/>). Not pre-filled, because configuration binding appends to a list.
    /// </summary>
    public List<string> Ice { get; set; } = [];

    /// <summary>Hosts with their own ICE entries (a host behind another firewall, one without TLS...).</summary>
    public List<TurnServerOptions> Servers { get; set; } = [];

    public bool IsConfigured => (Hosts.Count > 0 || Servers.Count > 0) && !string.IsNullOrEmpty(Secret);

    /// <summary>Every configured host with its ICE entries; throws <see cref="FormatException"/> on a malformed one.</summary>
    public IReadOnlyList<TurnHost> ResolveHosts() =>
        Hosts.Select(h => TurnHost.Parse(h, Ice)).Concat(Servers.Select(s => TurnHost.Parse(s.Host ?? "", s.Ice.Count > 0 ? s.Ice : Ice))).ToArray();
}

/// <summary>One TURN host with its own ICE entries (`Kv4:Turn:Servers:N`).</summary>
public sealed class TurnServerOptions
{
    /// <summary>`HOST[:PORT]`, as in <see cref="TurnOptions.Hosts"/>.</summary>
    public string? Host { get; set; }

    /// <summary>Its ICE entries; empty: those of `Kv4:Turn:Ice` (or the default set).</summary>
    public List<string> Ice { get; set; } = [];
}
