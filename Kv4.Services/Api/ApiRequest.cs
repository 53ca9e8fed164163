using System.Net;

namespace Kv4.Services.Api;

/// <summary>
/// One call of the uniform template `METHOD /_&lt;service&gt;/&lt;path&gt;?query` with its JSON body.
/// <see cref="Path"/> is already in normal form (the host ran <see cref="Kv4.Engine.Rules.AddressRules"/> on it);
/// <see cref="Body"/> is bounded by the host and not yet parsed. <see cref="Store"/> is the caller's bucket and nothing
/// else: a service that answers the call reaches storage through it.
/// </summary>
public sealed record ApiRequest(
    ApiMethod Method,
    string Service,
    string Path,
    ApiQuery Query,
    ReadOnlyMemory<byte> Body,
    Caller Caller,
    Kv4.Services.Storage.IBucketView Store,
    IPAddress? RemoteAddress = null,
    CancellationToken CancellationToken = default);
