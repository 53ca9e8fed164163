namespace Kv4.Services.Sessions;

/// <summary>Lifetimes of login sessions (configuration section `Kv4:Sessions`).</summary>
public sealed class SessionOptions
{
    /// <summary>How long an access token is good for (`expires_in`).</summary>
    public int AccessTokenSeconds { get; set; } = 900;

    /// <summary>How long a refresh token is good for; each refresh starts it again.</summary>
    public int RefreshTokenDays { get; set; } = 30;
}
