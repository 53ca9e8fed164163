using Microsoft.AspNetCore.Authentication;

namespace Kv4.Server.Authentication;

/// <summary>Registers the one authentication scheme, <see cref="Kv4AuthenticationHandler"/>, and the JWT key it and the issuers share.</summary>
public static class Kv4Authentication
{
    public static IServiceCollection AddKv4Authentication(this IServiceCollection services)
    {
        services.AddSingleton<JwtSigningKey>();
        services.AddAuthentication(Kv4AuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, Kv4AuthenticationHandler>(Kv4AuthenticationHandler.SchemeName, null);
        return services;
    }
}
