using Kv4.Server.Configuration;
using Kv4.Services.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Server.Authentication;

/// <summary>
/// The key, issuer and audience of the JWTs this server issues and accepts (HMAC-SHA256, so every node sharing
/// the key verifies every token). Issuers (`_sess`, `_token`) sign with <see cref="Credentials"/> and put the
/// <see cref="Kv4Claims"/> in the payload; the bearer scheme validates with <see cref="ValidationParameters"/>.
/// </summary>
public sealed class JwtSigningKey
{
    public JwtSigningKey(ServerSecrets secrets, IOptions<Kv4Options> options)
    {
        var jwt = options.Value.Jwt;
        Issuer = jwt.Issuer;
        Audience = jwt.Audience;
        Key = new SymmetricSecurityKey(secrets.JwtSigningKey) { KeyId = "kv4" };
        Credentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256);
    }

    public string Issuer { get; }

    public string Audience { get; }

    public SymmetricSecurityKey Key { get; }

    public SigningCredentials Credentials { get; }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = Key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        // Tokens from `_token` may have no expiry (expire=0); the services decide which tokens may call which API.
        RequireExpirationTime = false,
        ClockSkew = TimeSpan.FromSeconds(30),
        NameClaimType = Kv4Claims.Actor,
        RoleClaimType = Kv4Claims.Roles,
    };
}
