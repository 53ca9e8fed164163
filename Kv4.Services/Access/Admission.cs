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
/// A live connection is admitted again by <see cref="Recheck"/> for as long as it stays open (see <see cref="LiveConnections"/>),
/// so it ends with the identity that opened it. Every component is required: there is no check that passes
/// because a part is missing.
/// </summary>
public sealed class Admission(ICallerAuthenticator accounts, TokenAuthority tokens, ISessionRegistry sessions, IAccessPolicy access)
{
    /// <summary>Credential step for HTTP Basic: the caller, a refusal, or a throttled login that must wait (nothing was hashed).</summary>
    public ValueTask<LoginResult> AuthenticateBasicAsync(string userName, string password, IPAddress? client, CancellationToken cancellationToken) =>
        accounts.AuthenticateAsync(userName, password, client, cancellationToken);

    /// <summary>Credential step for a bearer token (`Authorization: Bearer`, or `access_token` on a WebSocket). Null: refused.</summary>
    public async ValueTask<Caller?> AuthenticateBearerAsync(string token)
    {
        var identity = await tokens.ValidateAsync(token).ConfigureAwait(false);
        if (identity is null || Kv4Claims.ToCaller(identity.Claims) is not { } caller) return null;
        return Stands(caller) ? caller : null;
    }

    /// <summary>Credential step for the signal WebSocket, whose token is in its URL. Null: refused.</summary>
    public async ValueTask<SignalTicket?> AuthenticateSignalAsync(string token)
    {
        var ticket = await tokens.ValidateSignalAsync(token).ConfigureAwait(false);
        return ticket is not null && Stands(ticket.Issuer) ? ticket : null;
    }

    /// <summary>The identity a credential vouched for is still there, unchanged: account records and standing, session.</summary>
    public bool Stands(Caller caller) =>
        !AnonymousCaller.Is(caller) && accounts.Stands(caller)
        && (caller.SessionId is null || !sessions.IsRevoked(caller.Bucket, caller.SessionId));

    /// <summary>
    /// Whether <paramref name="authenticated"/> (null: no valid credential) may make this call. On success
    /// <paramref name="caller"/> is who the service sees: the authenticated caller, or <see cref="AnonymousCaller"/>
    /// for a call the service declares anonymous and that came without credentials.
    /// </summary>
    public ErrorCode? Admit(Caller? authenticated, bool presentedCredentials, ServiceDeclaration service, ApiMethod method, string path,
        Reach reach, IPAddress? client, out Caller caller)
    {
        caller = AnonymousCaller.Instance;
        if (authenticated is null)
            return !presentedCredentials && reach == Reach.Path && service.AllowsAnonymous(method, path) ? null : ErrorCode.Unauthorized;
        if (!Stands(authenticated)) return ErrorCode.Unauthorized;
        if (reach == Reach.Watch && (!service.Watchable || service.HoldsSecrets || service.Layer is null)) return ErrorCode.BadParam;
        // A `_token` bearer stands for an end user, not for its issuer: only what its scope reaches, watches included.
        if (authenticated.Signal is { } scope && !scope.Permits(service, method, path)) return ErrorCode.Forbidden;
        if (IsDenied(authenticated.Bucket, path, reach, client)) return ErrorCode.Forbidden;
        caller = authenticated;
        return null;
    }

    /// <summary>Whether a signal ticket may join <paramref name="channel"/> from <paramref name="client"/>.</summary>
    public ErrorCode? AdmitSignal(SignalTicket ticket, string channel, IPAddress? client) =>
        !Stands(ticket.Issuer) ? ErrorCode.Unauthorized
        : IsDenied(ticket.Bucket, channel, Reach.Path, client) ? ErrorCode.Forbidden
        : null;

    /// <summary>Asked again, for as long as a live connection is open: null while it may stay.</summary>
    public ErrorCode? Recheck(Caller caller, string path, Reach reach, IPAddress? client) =>
        !Stands(caller) ? ErrorCode.Unauthorized
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
