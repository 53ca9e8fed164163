using System.Net;

namespace Kv4.Services.Access;

/// <summary>
/// The IP deny list of section 5.10: an address or CIDR denied at a path of a bucket is refused on that
/// path and below, in every layer of the bucket. The host asks this before every call and every WebSocket join.
/// </summary>
public interface IAccessPolicy
{
    bool IsDenied(string bucket, string path, IPAddress address);
}
