using System.Globalization;
using System.Net;

namespace Kv4.Cluster.Transport;

/// <summary>How the cluster's settings write a node's cluster endpoint: "127.0.0.1:7101", "[::1]:7101" or "kv4-0.kv4:7101".</summary>
public static class NodeEndpoints
{
    public static EndPoint Parse(string text)
    {
        if (!TryParse(text, out var endpoint)) throw new FormatException($"'{text}' is not host:port");
        return endpoint;
    }

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EndPoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (IPEndPoint.TryParse(text, out var ip) && ip.Port > 0)
        {
            endpoint = ip;
            return true;
        }
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is <= 0 or > 65535 || Uri.CheckHostName(text[..colon]) == UriHostNameType.Unknown)
            return false;
        endpoint = new DnsEndPoint(text[..colon], port);
        return true;
    }

    public static string Format(EndPoint endpoint) => endpoint switch
    {
        IPEndPoint ip => ip.ToString(),
        DnsEndPoint dns => $"{dns.Host}:{dns.Port.ToString(CultureInfo.InvariantCulture)}",
        _ => endpoint.ToString() ?? "",
    };

    /// <summary>Endpoints compare by their text, so "127.0.0.1:7101" from two settings is one member.</summary>
    public static IEqualityComparer<EndPoint> Comparer { get; } = EqualityComparer<EndPoint>.Create(
        (a, b) => a is null ? b is null : b is not null && Format(a) == Format(b),
        e => Format(e).GetHashCode(StringComparison.Ordinal));
}
