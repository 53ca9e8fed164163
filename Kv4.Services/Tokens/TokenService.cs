using System.Globalization;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Tokens;

/// <summary>
/// `_token` (http-api.md §5.4): `PUT /_token/&lt;channel&gt;?k=&lt;user&gt;&amp;expire=&lt;seconds&gt;` answers a signed signal token
/// as a JSON string. The channel must exist in `_ns` (else no_namespace); no path means no channel restriction.
/// `k` omitted: a random user id; `expire` omitted: 60 s; `expire=0`: no expiry.
/// </summary>
/// <param name="channels">Whether (bucket, path) is a node of `_ns` (the namespace service answers it).</param>
public sealed class TokenService(TokenAuthority authority, IChannelDirectory channels) : IApiService
{
    public const int DefaultExpireSeconds = 60;

    /// <summary>Ten years: longer lifetimes are refused as bad_param rather than overflowing the clock.</summary>
    public const long MaxExpireSeconds = 10L * 366 * 24 * 3600;

    public ServiceDeclaration Declaration => BuiltInServices.Token;

    public async ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        if (request.Method != ApiMethod.Put) return ErrorCode.MethodNotAllowed;

        var user = request.Query.Get("k");
        if (user is null) user = Guid.NewGuid().ToString("N");
        else if (!IsValidUser(user)) return ErrorCode.BadKey;

        TimeSpan? lifetime = TimeSpan.FromSeconds(DefaultExpireSeconds);
        if (request.Query.Get("expire") is { } expireText)
        {
            if (!long.TryParse(expireText, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > MaxExpireSeconds)
                return ErrorCode.BadParam;
            lifetime = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
        }

        string? channel = request.Path.Length == 0 ? null : request.Path;
        if (channel is not null && !await channels.ExistsAsync(request.Store, channel, request.CancellationToken).ConfigureAwait(false))
            return ErrorCode.NoNamespace;

        return ApiReply.OkString(authority.IssueSignalToken(request.Caller, user, channel, lifetime));
    }

    /// <summary>
    /// A signal user is a key that is also one path segment: clients split `m.f` ("/&lt;channel&gt;/&lt;user&gt;") on '/'
    /// and take the last part, so a '/' in a user name would make it unreadable.
    /// </summary>
    public static bool IsValidUser(string user) => AddressRules.IsValidKey(user) && !user.Contains('/') && user != SignalUsers.System;
}
