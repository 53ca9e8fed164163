using Kv4.Services.Accounts;

namespace Kv4.Services;

/// <summary>What the host tells the services (from its configuration).</summary>
public sealed class ServiceSettings
{
    /// <summary>The `$sys` secret (the host reads KV4_SYS_SECRET or its generated file).</summary>
    public required string SystemSecret { get; init; }

    /// <summary>
    /// The key of the account-secret HMAC (at least 16 bytes). Null: a random key is generated at first start and
    /// kept in the store (bucket `$sys`, layer `acc`, path `keys`, key `secret-hash`), so it survives restarts and
    /// is independent of the `$sys` secret.
    /// </summary>
    public byte[]? SecretHashKey { get; init; }

    public int PasswordIterations { get; init; } = PasswordHasher.DefaultIterations;

    /// <summary>How long a successful login check is reused (a change to the account ends it at once anyway).</summary>
    public int LoginCacheSeconds { get; init; } = 30;

    /// <summary>How failed logins are throttled (`Kv4:Login`).</summary>
    public LoginOptions Login { get; init; } = new();

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
