using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace Kv4.Services.Api;

/// <summary>
/// The one form a client address is compared and keyed in. A dual-stack socket reports an IPv4 peer as an
/// IPv4-mapped IPv6 address: `::ffff:10.0.0.1` is `10.0.0.1`, so a rule or a count for one also holds for the other.
/// Every other address is itself.
/// </summary>
public static class ClientAddress
{
    [return: NotNullIfNotNull(nameof(address))]
    public static IPAddress? Canonical(IPAddress? address) => address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
}
