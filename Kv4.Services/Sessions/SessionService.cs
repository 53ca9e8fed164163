using System.Net;
using System.Text.Json;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Kv4.Services.Tokens;

namespace Kv4.Services.Sessions;

/// <summary>
/// `_sess` (http-api.md §5.12).
/// <list type="bullet">
/// <item>`POST /_sess {"k":"&lt;login&gt;","v":{"password":".."}}`, no credentials: checks the login with its password
///   (`elena`, `elena#lily`, `elena:admin`) and answers `{"access_token":&lt;JWT&gt;,"token_type":"Bearer","expires_in":900,
///   "refresh_token":..,"session":&lt;sid&gt;}`. A refused login is `unauthorized`; a login or client address that
///   failed too often is `rate_limited` until its wait is over (its password is not checked then).</item>
/// <item>`POST /_sess/refresh {"refresh_token":".."}` (or `{"v":{"refresh_token":..}}`), no credentials: the same
///   shape with a new access token and a new refresh token; the old refresh token is spent.</item>
/// <item>`GET /_sess`: the sessions of the caller's bucket (never the refresh hash).</item>
/// <item>`DELETE /_sess?k=&lt;sid&gt;`: revokes it (its access tokens are refused from then on), v = 1 or 0;
///   without k every session of the bucket, v = how many.</item>
/// </list>
/// </summary>
/// <param name="passwordLogin">Checks a login and its password from a client address (the accounts' password login).</param>
public sealed class SessionService(Func<string, string, IPAddress?, CancellationToken, ValueTask<LoginResult>> passwordLogin, SessionStore sessions,
    TokenAuthority tokens, SessionOptions options) : IApiService
{
    public ServiceDeclaration Declaration => BuiltInServices.Sessions;

    public async ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        switch (request.Method)
        {
            case ApiMethod.Post when request.Path.Length == 0:
                return await LoginAsync(request).ConfigureAwait(false);
            case ApiMethod.Post when request.Path == "refresh":
                return await RefreshAsync(request).ConfigureAwait(false);
            case ApiMethod.Post:
                return ErrorCode.NotFound;
            case ApiMethod.Get when request.Path.Length == 0 && request.Caller is { } caller:
            {
                var list = await sessions.ListAsync(caller.Bucket, request.CancellationToken).ConfigureAwait(false);
                return ApiReply.OkWriter(writer =>
                {
                    writer.WriteStartArray();
                    foreach (var s in list)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("sid", s.SessionId);
                        writer.WriteString("login", s.Login);
                        writer.WriteStartArray("roles");
                        foreach (var role in s.Roles) writer.WriteStringValue(role);
                        writer.WriteEndArray();
                        writer.WriteNumber("created", s.CreatedMs);
                        writer.WriteNumber("expires", s.ExpiresMs);
                        writer.WriteBoolean("current", s.SessionId == caller.SessionId);
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                });
            }
            case ApiMethod.Delete when request.Path.Length == 0:
            {
                var caller = request.Caller;
                if (request.Query.Get("k") is { } sid)
                    return ApiReply.OkNumber(await sessions.RevokeAsync(caller.Bucket, sid, caller.Actor, request.CancellationToken).ConfigureAwait(false) ? 1 : 0);
                return ApiReply.OkNumber(await sessions.RevokeAllAsync(caller.Bucket, caller.Actor, request.CancellationToken).ConfigureAwait(false));
            }
            case ApiMethod.Get or ApiMethod.Delete:
                return ErrorCode.NotFound;
            default:
                return ErrorCode.MethodNotAllowed;
        }
    }

    private async ValueTask<ApiReply> LoginAsync(ApiRequest request)
    {
        if (!TryParse(request.Body, out var root, out var error)) return error;
        using (root)
        {
            var body = root.RootElement;
            if (!body.TryGetProperty("k", out var k) || k.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(k.GetString()))
                return ErrorCode.BadParam;
            if (!body.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Object ||
                !v.TryGetProperty("password", out var password) || password.ValueKind != JsonValueKind.String)
                return ErrorCode.BadParam;
            var login = await passwordLogin(k.GetString()!, password.GetString()!, request.RemoteAddress, request.CancellationToken)
                .ConfigureAwait(false);
            if (login.Throttled) return ErrorCode.RateLimited;
            if (login.Caller is not { } caller) return ErrorCode.Unauthorized;
            var (sid, refresh) = await sessions.OpenAsync(caller, RefreshLifetime, request.CancellationToken).ConfigureAwait(false);
            return Grant(caller with { SessionId = sid }, sid, refresh);
        }
    }

    private async ValueTask<ApiReply> RefreshAsync(ApiRequest request)
    {
        if (!TryParse(request.Body, out var root, out var error)) return error;
        using (root)
        {
            var body = root.RootElement;
            if (body.TryGetProperty("v", out var v) && v.ValueKind == JsonValueKind.Object) body = v;
            if (!body.TryGetProperty("refresh_token", out var token) || token.ValueKind != JsonValueKind.String)
                return ErrorCode.BadParam;
            var renewed = await sessions.RefreshAsync(token.GetString()!, RefreshLifetime, request.CancellationToken).ConfigureAwait(false);
            if (renewed is not { } granted) return ErrorCode.Unauthorized;
            return Grant(granted.Caller, granted.Caller.SessionId!, granted.RefreshToken);
        }
    }

    private TimeSpan RefreshLifetime => TimeSpan.FromDays(options.RefreshTokenDays);

    private ApiReply Grant(Caller caller, string sid, string refreshToken)
    {
        var access = tokens.IssueAccessToken(caller, sid, TimeSpan.FromSeconds(options.AccessTokenSeconds));
        var expiresIn = options.AccessTokenSeconds;
        return ApiReply.OkWriter(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("access_token", access);
            writer.WriteString("token_type", "Bearer");
            writer.WriteNumber("expires_in", expiresIn);
            writer.WriteString("refresh_token", refreshToken);
            writer.WriteString("session", sid);
            writer.WriteEndObject();
        });
    }

    private static bool TryParse(ReadOnlyMemory<byte> body, out JsonDocument document, out ApiReply error)
    {
        document = null!;
        error = default;
        try
        {
            document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object) return true;
            document.Dispose();
            error = ErrorCode.BadParam;
            return false;
        }
        catch (JsonException)
        {
            error = ErrorCode.BadJson;
            return false;
        }
    }
}
