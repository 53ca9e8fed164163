namespace Kv4.Services.External;

/// <summary>
/// One registered host of an external service, as the last heartbeat described it.
/// <see cref="Load"/> and <see cref="Capacity"/> are the host's own figures (any unit, e.g. sessions);
/// hosts are ranked by Load/Capacity, or by Load alone when Capacity is 0.
/// <see cref="ProxyToken"/> is an optional secret the host chose at registration; it is sent back on every
/// forwarded request so the host can tell Kv4 from anyone else who reaches its port.
/// </summary>
public sealed record ServiceHost(
    string Service,
    string HostId,
    Uri Url,
    double Load,
    double Capacity,
    TimeSpan Ttl,
    DateTimeOffset ExpiresAt,
    string? ProxyToken = null)
{
    /// <summary>The ranking figure: lower is better.</summary>
    public double Utilization => Capacity > 0 ? Load / Capacity : Load;
}
