namespace Kv4.Services.Api;

/// <summary>
/// A service behind the uniform template: it owns the URL prefix `/_&lt;Name&gt;/` and the rules of its layer.
/// What it is (prefix, layer, watchable, anonymous calls, signal reach) is its <see cref="Declaration"/>; the host
/// admits the caller by it, normalizes the path, bounds the body and calls <see cref="HandleAsync"/>; everything
/// else (which methods, which parameters, what is stored) is the service's.
/// A service answers <see cref="ErrorCode.MethodNotAllowed"/> for methods it does not support.
/// </summary>
public interface IApiService
{
    ServiceDeclaration Declaration { get; }

    /// <summary>The prefix without its underscore: "data" serves `/_data/...`.</summary>
    string Name => Declaration.Name;

    ValueTask<ApiReply> HandleAsync(ApiRequest request);
}
