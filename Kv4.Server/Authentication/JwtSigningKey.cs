using Kv4.Server.Configuration;
using Kv4.Services.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Server.Authentication;

/// <summary>
/// The key, issuer and audience of the JWTs this server issues and accepts (HMAC-SHA256, so every node sharing
/// the key verifies every token). Issuers (`_sess`, `_token`) sign with <see cref="Credentials"/> and put the
/// <see cref="Kv4Claims"/> in the payload; every door validates with <see cref="ValidationParameters"/>, through the one TokenAuthority.
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

    public TokenValidationParameters ValidationParameters() => Kv4.Services.Tokens.TokenAuthority.Validation(Key, Issuer, Audience);
}
