namespace Kv4.Services.Api;

/// <summary>
/// A service behind the uniform template: it owns the URL prefix `/_&lt;Name&gt;/` and the rules of its layer.
/// The host authenticates, normalizes the path, bounds the body and calls <see cref="HandleAsync"/>;
/// everything else (which methods, which parameters, what is stored) is the service's.
/// A service answers <see cref="ErrorCode.MethodNotAllowed"/> for methods it does not support.
/// </summary>
public interface IApiService
{
    /// <summary>The prefix without its underscore: "data" serves `/_data/...`.</summary>
    string Name { get; }

    /// <summary>Calls that need no credentials (a login, say). The default is none.</summary>
    bool AllowsAnonymous(ApiMethod method, string path) => false;

    ValueTask<ApiReply> HandleAsync(ApiRequest request);
}
