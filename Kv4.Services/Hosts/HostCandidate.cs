namespace Kv4.Services.Hosts;

/// <summary>
/// One live node able to serve a host type, with the load it last reported (any non-negative scale
/// where lower is better, e.g. connections or a 0..1 utilisation — candidates of one type share a scale).
/// Example for type "signal": ("node-a", "wss://a.example.com/ws", 120).
/// </summary>
public sealed record HostCandidate(string NodeId, string Url, double Load);
