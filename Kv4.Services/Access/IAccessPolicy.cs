using System.Net;

namespace Kv4.Services.Access;

/// <summary>
/// The IP deny list of http-api.md §5.10 `_auth`: an address or CIDR denied at a path of a bucket is refused on that
/// path and below, in every layer of the bucket. The host asks this before every call and every WebSocket join.
/// </summary>
public interface IAccessPolicy
{
    bool IsDenied(string bucket, string path, IPAddress address);

    /// <summary>
    /// Denied at the path or anywhere below it: asked for a call that reaches the whole subtree (a DELETE without `k`,
    /// a watch), so a client refused at `rooms/private` can neither remove it, nor lift its own rule, nor watch its
    /// changes, through a call at `rooms`.
    /// </summary>
    bool IsDeniedInSubtree(string bucket, string path, IPAddress address);
}
