using System.Text.Encodings.Web;
using Kv4.Server.Endpoints;
using Kv4.Server.Hosting;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Authentication;

/// <summary>
/// HTTP Basic for the logins of http-api.md §4 Credentials. No Authorization header: no result (the endpoint decides
/// whether the call may be anonymous). A garbled header or refused login: failure, answered with the
/// `unauthorized` envelope by <see cref="HandleChallengeAsync"/>. The authenticator caches successful checks,
/// so a hot GET does not hash the secret each time.
/// </summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    EngineLifetime engine,
    ReplyWriter replies)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization;
        if (header.Count == 0) return AuthenticateResult.NoResult();
        if (header.Count > 1 || !BasicCredential.TryParse(header[0], out var userName, out var password))
            return AuthenticateResult.Fail("garbled Authorization header");
        // Before the engine is open nobody can be checked; the endpoint answers `unavailable` then.
        if (engine.Runtime is not { } runtime) return AuthenticateResult.NoResult();
        var caller = await runtime.Authenticator.AuthenticateAsync(userName, password, Context.RequestAborted);
        if (caller is null) return AuthenticateResult.Fail("login refused");
        return AuthenticateResult.Success(new AuthenticationTicket(CallerPrincipal.Create(caller, SchemeName), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Basic realm=\"kv4\", charset=\"UTF-8\"";
        await replies.WriteErrorAsync(Response, ErrorCode.Unauthorized);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await replies.WriteErrorAsync(Response, ErrorCode.Forbidden);
}
