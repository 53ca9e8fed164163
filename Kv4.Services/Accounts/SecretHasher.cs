using System.Security.Cryptography;

namespace Kv4.Services.Accounts;

/// <summary>
/// API secrets: 128-bit random values shown once as 32 hex characters and stored only as
/// `hmac-sha256:` + base64(HMAC-SHA256(server key, secret)). A random 128-bit secret cannot be guessed, so a
/// fast keyed hash is enough (no slow hash needed); the key means a copy of the data alone does not allow
/// checking candidate secrets offline. Checks compare in fixed time.
/// </summary>
public sealed class SecretHasher
{
    private const string Prefix = "hmac-sha256:";
    private readonly byte[] _key;
    private long _verifications;

    public SecretHasher(byte[] key)
    {
        if (key.Length < 16) throw new ArgumentException("the secret hash key needs at least 16 bytes", nameof(key));
        _key = key.ToArray();
    }

    /// <summary>How many HMAC checks <see cref="Verify"/> ran: whether a login was hashed can be seen without timing it.</summary>
    public long Verifications => Interlocked.Read(ref _verifications);

    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public string Hash(string secret) => Prefix + Convert.ToBase64String(Compute(secret));

    public bool Verify(string secret, string? stored)
    {
        if (stored is null || !stored.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        Span<byte> expected = stackalloc byte[32];
        if (!Convert.TryFromBase64String(stored[Prefix.Length..], expected, out var written) || written != 32) return false;
        Interlocked.Increment(ref _verifications);
        return CryptographicOperations.FixedTimeEquals(expected, Compute(secret));
    }

    private byte[] Compute(string secret) => HMACSHA256.HashData(_key, System.Text.Encoding.UTF8.GetBytes(secret));
}
