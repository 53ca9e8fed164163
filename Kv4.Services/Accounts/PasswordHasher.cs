using System.Globalization;
using System.Security.Cryptography;

namespace Kv4.Services.Accounts;

/// <summary>
/// Passwords are chosen by people, so they get a slow salted hash: PBKDF2-HMAC-SHA256 with a 16-byte random
/// salt and (by default) 100 000 iterations, stored as `pbkdf2-sha256$ITERATIONS$SALT$HASH` (base64 parts), e.g.
/// `pbkdf2-sha256$100000$3q2+7w...$Yk1...`. The iteration count is stored with each hash, so raising it later
/// keeps old hashes checkable. Checks compare in fixed time.
/// </summary>
public sealed class PasswordHasher(int iterations = PasswordHasher.DefaultIterations)
{
    public const int DefaultIterations = 100_000;
    public const int MaxPasswordLength = 1024;
    private const string Prefix = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private long _verifications;

    public int Iterations { get; } = iterations >= DefaultIterations
        ? iterations
        : throw new ArgumentOutOfRangeException(nameof(iterations), $"at least {DefaultIterations} iterations");

    /// <summary>How many PBKDF2 checks <see cref="Verify"/> ran: whether a login was hashed can be seen without timing it.</summary>
    public long Verifications => Interlocked.Read(ref _verifications);

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Prefix, Iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    public bool Verify(string password, string? stored)
    {
        if (stored is null) return false;
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Prefix) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1) return false;
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        Interlocked.Increment(ref _verifications);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
