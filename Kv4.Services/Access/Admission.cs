using System.Net;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Kv4.Services.Sessions;
using Kv4.Services.Tokens;

namespace Kv4.Services.Access;

/// <summary>
/// The one way in. Every door — a REST call, an SSE watch, a WebSocket watch, a signal WebSocket — admits its
/// caller here, in the same steps:
/// <code>
///   credential ──► caller ──► still standing? ──► service allows it? ──► deny list ──► admitted
///   Basic user:secret        records and session    anonymous calls,      (canonical
///   Bearer / access_token    unchanged since the    watchable layer,      client address,
///   signal token             credential was issued  signal token's reach  path or subtree)
/// </code>
/// A live connection is admitted again by <see cref="RecheckAsync"/> for as long as it stays open (see <see cref="LiveConnections"/>),
/// so it ends with the identity that opened it. Every component is required: there is no check that passes
/// because a part is missing.
/// </summary>
public sealed class Admission(ICallerAuthenticator accounts, TokenAuthority tokens, ISessionRegistry sessions, IAccessPolicy access)
{
    /// <summary>Credential step for HTTP Basic: the caller, a refusal, or a throttled login that must wait (nothing was hashed).</summary>
    public ValueTask<LoginResult> AuthenticateBasicAsync(string userName, string password, IPAddress? client, CancellationToken cancellationToken) =>
        accounts.AuthenticateAsync(userName, password, client, cancellationToken);

    /// <summary>Credential step for a bearer token (`Authorization: Bearer`, or `access_token` on a WebSocket). Null: refused.</summary>
    public async ValueTask<Caller?> AuthenticateBearerAsync(string token, CancellationToken cancellationToken = default)
    {
        var identity = await tokens.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (identity is null || Kv4Claims.ToCaller(identity.Claims) is not { } caller) return null;
        return await StandsAsync(caller, cancellationToken).ConfigureAwait(false) ? caller : null;
    }

    /// <summary>Credential step for the signal WebSocket, whose token is in its URL. Null: refused.</summary>
    public async ValueTask<SignalTicket?> AuthenticateSignalAsync(string token, CancellationToken cancellationToken = default)
    {
        var ticket = await tokens.ValidateSignalAsync(token, cancellationToken).ConfigureAwait(false);
        return ticket is not null && await StandsAsync(ticket.Issuer, cancellationToken).ConfigureAwait(false) ? ticket : null;
    }

    /// <summary>The identity a credential vouched for is still there, unchanged: account records and standing, session.</summary>
    public async ValueTask<bool> StandsAsync(Caller caller, CancellationToken cancellationToken = default) =>
        !AnonymousCaller.Is(caller) && await accounts.StandsAsync(caller, cancellationToken).ConfigureAwait(false)
        && (caller.SessionId is null || !await sessions.IsRevokedAsync(caller.Bucket, caller.SessionId, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Whether <paramref name="authenticated"/> (null: no valid credential) may make this call: null when it may, else the
    /// refusal. On success Caller is who the service sees: the authenticated caller, or <see cref="AnonymousCaller"/>
    /// for a call the service declares anonymous and that came without credentials.
    /// </summary>
    public async ValueTask<(ErrorCode? Refusal, Caller Caller)> AdmitAsync(Caller? authenticated, bool presentedCredentials, ServiceDeclaration service,
        ApiMethod method, string path, Reach reach, IPAddress? client, CancellationToken cancellationToken = default)
    {
        var caller = AnonymousCaller.Instance;
        if (authenticated is null)
            return (!presentedCredentials && reach == Reach.Path && service.AllowsAnonymous(method, path) ? null : ErrorCode.Unauthorized, caller);
        if (!await StandsAsync(authenticated, cancellationToken).ConfigureAwait(false)) return (ErrorCode.Unauthorized, caller);
        if (reach == Reach.Watch && (!service.Watchable || service.HoldsSecrets || service.Layer is null)) return (ErrorCode.BadParam, caller);
        // A `_token` bearer stands for an end user, not for its issuer: only what its scope reaches, watches included.
        if (authenticated.Signal is { } scope && !scope.Permits(service, method, path)) return (ErrorCode.Forbidden, caller);
        if (IsDenied(authenticated.Bucket, path, reach, client)) return (ErrorCode.Forbidden, caller);
        return (null, authenticated);
    }

    /// <summary>Whether a signal ticket may join <paramref name="channel"/> from <paramref name="client"/>.</summary>
    public async ValueTask<ErrorCode?> AdmitSignalAsync(SignalTicket ticket, string channel, IPAddress? client, CancellationToken cancellationToken = default) =>
        !await StandsAsync(ticket.Issuer, cancellationToken).ConfigureAwait(false) ? ErrorCode.Unauthorized
        : IsDenied(ticket.Bucket, channel, Reach.Path, client) ? ErrorCode.Forbidden
        : null;

    /// <summary>Asked again, for as long as a live connection is open: null while it may stay.</summary>
    public async ValueTask<ErrorCode?> RecheckAsync(Caller caller, string path, Reach reach, IPAddress? client, CancellationToken cancellationToken = default) =>
        !await StandsAsync(caller, cancellationToken).ConfigureAwait(false) ? ErrorCode.Unauthorized
        : IsDenied(caller.Bucket, path, reach, client) ? ErrorCode.Forbidden
        : null;

    // A call that reaches every path below (a watch, a DELETE of the tree) is refused by a rule anywhere there,
    // so a client denied at `rooms/private` can neither watch, remove nor lift it from `rooms`.
    private bool IsDenied(string bucket, string path, Reach reach, IPAddress? client)
    {
        if (client is null) return false;
        var address = ClientAddress.Canonical(client);
        return reach == Reach.Path ? access.IsDenied(bucket, path, address) : access.IsDeniedInSubtree(bucket, path, address);
    }
}
