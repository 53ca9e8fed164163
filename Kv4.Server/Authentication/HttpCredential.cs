using Kv4.Services.Tokens;

namespace Kv4.Server.Authentication;

/// <summary>
/// The credential a request presents, read in one place: `Authorization: Basic ...` (a login), `Authorization:
/// Bearer ...` (a `_sess` or `_token` JWT), or — on a WebSocket request only, because a browser cannot set headers
/// there — `?access_token=JWT`, the way ASP.NET Core's SignalR reads it. Anything else in the header is garbled.
/// </summary>
public readonly record struct HttpCredential(HttpCredentialKind Kind, string UserName = "", string Password = "", string Token = "")
{
    public static HttpCredential Read(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count == 0)
        {
            var queryToken = IsWebSocketUpgrade(request) ? request.Query["access_token"].ToString() : "";
            if (queryToken.Length == 0) return new(HttpCredentialKind.None);
            return queryToken.Length <= TokenAuthority.MaxTokenChars ? new(HttpCredentialKind.Bearer, Token: queryToken) : new(HttpCredentialKind.Garbled);
        }
        if (header.Count > 1 || header[0] is not { } value) return new(HttpCredentialKind.Garbled);
        const string bearer = "Bearer ";
        if (value.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            var token = value.AsSpan(bearer.Length).Trim();
            return token.Length is > 0 and <= TokenAuthority.MaxTokenChars
                ? new(HttpCredentialKind.Bearer, Token: token.ToString())
                : new(HttpCredentialKind.Garbled);
        }
        return BasicCredential.TryParse(value, out var userName, out var password)
            ? new(HttpCredentialKind.Basic, userName, password)
            : new(HttpCredentialKind.Garbled);
    }

    // Authentication runs before the WebSocket middleware has looked at the request, so the upgrade is read off the header.
    private static bool IsWebSocketUpgrade(HttpRequest request) =>
        string.Equals(request.Headers.Upgrade.ToString(), "websocket", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the request carries any credential at all (an anonymous call must carry none).</summary>
    public static bool IsPresented(HttpRequest request) =>
        request.Headers.Authorization.Count > 0 || (IsWebSocketUpgrade(request) && request.Query.ContainsKey("access_token"));
}

public enum HttpCredentialKind
{
    None,
    Basic,
    Bearer,
    Garbled,
}
