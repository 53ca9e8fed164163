using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Kv4.Services.Turn;

/// <summary>
/// The TURN REST API credential scheme that coturn checks with `use-auth-secret`:
/// username = "&lt;unix expiry seconds&gt;:&lt;ident&gt;", credential = base64(HMAC-SHA1(shared secret, username)).
/// coturn recomputes the HMAC from its `static-auth-secret` and refuses the allocation once the expiry has passed,
/// so a credential needs no server-side state and cannot be extended by editing the username.
/// Example: secret "s3cret", ident "elena", expiry 1795462977 gives username "1795462977:elena" and
/// credential "base64 of the 20-byte HMAC" (28 characters).
/// </summary>
public static class TurnRestCredentials
{
    public static string Username(DateTimeOffset expiresAt, string ident) =>
        expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + ":" + ident;

    public static string Credential(byte[] secret, string username)
    {
        Span<byte> mac = stackalloc byte[HMACSHA1.HashSizeInBytes];
        HMACSHA1.HashData(secret, Encoding.UTF8.GetBytes(username), mac);
        return Convert.ToBase64String(mac);
    }
}
