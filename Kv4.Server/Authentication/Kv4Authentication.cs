using Kv4.Server.Endpoints;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Authentication;

/// <summary>
/// Registers the schemes: a policy scheme (the default) forwards to JWT bearer when the Authorization header
/// says `Bearer`, and to Basic otherwise. Both answer a challenge with the `unauthorized` envelope.
/// </summary>
public static class Kv4Authentication
{
    public const string PolicyScheme = "Kv4";

    public static IServiceCollection AddKv4Authentication(this IServiceCollection services)
    {
        services.AddSingleton<JwtSigningKey>();
        services.AddAuthentication(PolicyScheme)
            .AddPolicyScheme(PolicyScheme, "Basic or Bearer", o => o.ForwardDefaultSelector = SelectScheme)
            .AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(BasicAuthenticationHandler.SchemeName, null)
            .AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<JwtSigningKey, ReplyWriter>((o, key, replies) =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = key.ValidationParameters();
                o.Events = new JwtBearerEvents
                {
                    OnChallenge = async context =>
                    {
                        context.HandleResponse();
                        context.Response.Headers.WWWAuthenticate = "Bearer";
                        await replies.WriteErrorAsync(context.Response, ErrorCode.Unauthorized);
                    },
                    OnForbidden = async context => await replies.WriteErrorAsync(context.Response, ErrorCode.Forbidden),
                    // A `_sess` token is refused once its session is revoked (or gone with its bucket). Without a
                    // runtime the API answers `unavailable` anyway; host tests with fake services have no sessions.
                    OnTokenValidated = context =>
                    {
                        var runtime = context.HttpContext.RequestServices.GetRequiredService<Kv4.Server.Hosting.EngineLifetime>().Runtime;
                        var realtime = runtime?.Realtime;
                        if (realtime is not null && context.Principal is { } principal && realtime.Tokens.IsRevoked(principal.Claims))
                            context.Fail("session revoked");
                        // A deactivated or deleted account (or sub-account, or admin) loses its tokens at once, as its Basic logins.
                        else if (runtime?.Authenticator is Kv4.Services.Accounts.CallerAuthenticator accounts
                                 && CallerPrincipal.From(context.Principal) is { } caller && !accounts.IsActive(caller))
                            context.Fail("account inactive");
                        return Task.CompletedTask;
                    },
                };
            });
        return services;
    }

    private static string SelectScheme(HttpContext context)
    {
        var header = context.Request.Headers.Authorization;
        return header.Count == 1 && header[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? JwtBearerDefaults.AuthenticationScheme
            : BasicAuthenticationHandler.SchemeName;
    }
}
