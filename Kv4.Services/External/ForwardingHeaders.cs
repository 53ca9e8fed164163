namespace Kv4.Services.External;

/// <summary>
/// The request headers that carry the authenticated caller to an external service host. The caller's own
/// Authorization header is never forwarded: the host trusts these because the request comes from Kv4
/// (checked with <see cref="ProxyToken"/> when it registered one).
/// </summary>
public static class ForwardingHeaders
{
    public const string Bucket = "X-Kv4-Bucket";
    public const string Actor = "X-Kv4-Actor";
    public const string CallerKind = "X-Kv4-Caller-Kind";
    public const string Roles = "X-Kv4-Roles";
    public const string Session = "X-Kv4-Session";
    public const string Service = "X-Kv4-Service";
    public const string ProxyToken = "X-Kv4-Proxy-Token";
    public const string ForwardedFor = "X-Forwarded-For";
}
