using System.Text.Encodings.Web;
using Kv4.Engine.Rules;
using Kv4.Server.Endpoints;
using Kv4.Server.Hosting;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Authentication;

/// <summary>
/// The credential step of admission as an ASP.NET Core scheme, so the rate limiter and the endpoints find the
/// caller on HttpContext.User. It reads the <see cref="HttpCredential"/> and asks the runtime's
/// <see cref="Kv4.Services.Access.Admission"/>, the one place where a login is checked and the one JWT validator.
/// No credential: no result (the endpoint decides whether the call may be anonymous). A garbled or refused one:
/// failure, answered with the `unauthorized` envelope by <see cref="HandleChallengeAsync"/>.
/// </summary>
public sealed class Kv4AuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    EngineLifetime engine,
    ReplyWriter replies)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Kv4";

    /// <summary>Where a throttled login leaves its wait for the challenge (the same request, maybe another handler instance).</summary>
    private static readonly object RetryAfterItem = new();

    /// <summary>Where a credential that could not be checked (its account's partition unreachable) leaves that for the challenge.</summary>
    private static readonly object UncheckedItem = new();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var credential = HttpCredential.Read(Request);
        if (credential.Kind == HttpCredentialKind.None) return AuthenticateResult.NoResult();
        if (credential.Kind == HttpCredentialKind.Garbled) return AuthenticateResult.Fail("garbled credential");
        // Before the engine is open nobody can be checked; the endpoint answers `unavailable` then.
        if (engine.Runtime is not { } runtime) return AuthenticateResult.NoResult();
        Caller? caller;
        try
        {
            if (credential.Kind == HttpCredentialKind.Basic)
            {
                var login = await runtime.Admission.AuthenticateBasicAsync(credential.UserName, credential.Password,
                    Context.Connection.RemoteIpAddress, Context.RequestAborted);
                if (login.Throttled)
                {
                    Context.Items[RetryAfterItem] = login.RetryAfter;
                    return AuthenticateResult.Fail("login throttled");
                }
                caller = login.Caller;
            }
            else
            {
                caller = await runtime.Admission.AuthenticateBearerAsync(credential.Token, Context.RequestAborted);
            }
        }
        catch (EngineException e)
        {
            // The store could not answer (on a cluster: the partition holding the account is failing over). The
            // credential is neither good nor bad yet: the client hears `unavailable` and tries again, not `unauthorized`.
            Context.Items[UncheckedItem] = ErrorCodes.FromEngine(e.Error);
            return AuthenticateResult.Fail("credential could not be checked: " + e.Message);
        }
        if (caller is null) return AuthenticateResult.Fail("credential refused");
        return AuthenticateResult.Success(new AuthenticationTicket(CallerPrincipal.Create(caller, SchemeName), SchemeName));
    }

    /// <summary>
    /// A refused credential answers `unauthorized`; a throttled login `rate_limited` with Retry-After; one the store
    /// could not check `unavailable`.
    /// </summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.TryGetValue(UncheckedItem, out var why) && why is ErrorCode code)
        {
            await replies.WriteErrorAsync(Response, code);
            return;
        }
        if (Context.Items.TryGetValue(RetryAfterItem, out var wait) && wait is TimeSpan retryAfter)
        {
            Response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await replies.WriteErrorAsync(Response, ErrorCode.RateLimited);
            return;
        }
        Response.Headers.WWWAuthenticate = HttpCredential.Read(Request).Kind == HttpCredentialKind.Bearer
            ? "Bearer"
            : "Basic realm=\"kv4\", charset=\"UTF-8\"";
        await replies.WriteErrorAsync(Response, ErrorCode.Unauthorized);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await replies.WriteErrorAsync(Response, ErrorCode.Forbidden);
}
