using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Kv4.Services.Access;

/// <summary>
/// One entry of the deny list: an address or a CIDR network, in canonical text form (the key it is stored under).
/// "203.0.113.7" stays "203.0.113.7" (a /32); "2001:DB8::/32" becomes "2001:db8::/32"; "::ffff:10.0.0.1" is the
/// IPv4 address "10.0.0.1". IPv4 must be written as four decimal parts; a network must have no host bits set
/// ("10.1.0.0/16", not "10.1.2.3/16"), so a rule means exactly what it says.
/// </summary>
public readonly record struct DenyRule(IPNetwork Network, string Text)
{
    public const int MaxTextLength = 64;

    public static bool TryParse(string? text, out DenyRule rule)
    {
        rule = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxTextLength) return false;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!TryParseAddress(addressText, out var address)) return false;
        var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = maxPrefix;
        if (slash >= 0)
        {
            var prefixText = text.AsSpan(slash + 1);
            if (prefixText.Length is 0 or > 3 || !int.TryParse(prefixText, NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > maxPrefix)
                return false;
        }
        if (HasHostBits(address, prefix)) return false;
        var network = new IPNetwork(address, prefix);
        rule = new DenyRule(network, prefix == maxPrefix ? address.ToString() : network.ToString());
        return true;
    }

    private static bool HasHostBits(IPAddress address, int prefix)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        for (var bit = prefix; bit < length * 8; bit++)
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0) return true;
        return false;
    }

    private static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains(':'))
        {
            if (!IPAddress.TryParse(text, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || v6.ScopeId != 0) return false;
            address = ClientAddress.Canonical(v6);
            return true;
        }
        // IPAddress.TryParse also takes "10.1" or "0x0a.0.0.1"; a deny rule must be unambiguous, so only dotted quads.
        var parts = 0;
        foreach (var range in text.AsSpan().Split('.'))
        {
            var part = text.AsSpan()[range];
            if (++parts > 4 || part.Length is 0 or > 3 || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _)) return false;
        }
        return parts == 4 && IPAddress.TryParse(text, out address!);
    }
}
