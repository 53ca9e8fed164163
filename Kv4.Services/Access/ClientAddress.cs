using System.Net;

namespace Kv4.Services.Access;

/// <summary>
/// The one canonical form of a client's address, used by every rule that looks at one (deny list, login throttle):
/// an IPv4 client reached over a dual-stack socket arrives as `::ffff:203.0.113.7` and is matched as `203.0.113.7`.
/// </summary>
public static class ClientAddress
{
    public static IPAddress Canonical(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
