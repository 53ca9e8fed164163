using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Kv4.Server.Authentication;

/// <summary>
/// The one parser of the HTTP Basic credential: `Authorization: Basic base64(user:password)`. It splits at the
/// FIRST colon (a secret may contain colons; a login name may not), and URL-decodes the user name, because
/// `https://%24sys:SECRET@host/` puts `%24sys` there when a client copies the URL's user part verbatim.
/// The password is passed on as sent. What the user name means (`ident#sub`, `!`, `adminkey#password`)
/// is the authenticator's business (http-api.md §4 Credentials).
/// </summary>
public static class BasicCredential
{
    /// <summary>Bounds the header we decode; a longer one is garbled by definition.</summary>
    public const int MaxHeaderLength = 4096;

    public static bool TryParse(string? header, out string userName, out string password)
    {
        userName = "";
        password = "";
        if (header is null || header.Length > MaxHeaderLength) return false;
        const string scheme = "Basic ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var encoded = header.AsSpan(scheme.Length).Trim();
        if (encoded.IsEmpty) return false;

        var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(encoded.Length) + encoded.Length);
        try
        {
            var ascii = rented.AsSpan(0, encoded.Length);
            foreach (var c in encoded)
                if (c > 0x7f) return false;
            for (var i = 0; i < encoded.Length; i++) ascii[i] = (byte)encoded[i];
            var decoded = rented.AsSpan(encoded.Length);
            if (Base64.DecodeFromUtf8(ascii, decoded, out _, out var written) != OperationStatus.Done) return false;
            var bytes = decoded[..written];
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) return false;
            var colon = bytes.IndexOf((byte)':');
            if (colon <= 0) return false;
            var user = Encoding.UTF8.GetString(bytes[..colon]);
            if (user.Contains('%'))
            {
                try { user = Uri.UnescapeDataString(user); }
                catch (UriFormatException) { return false; }
            }
            if (user.Length == 0 || HasControl(user)) return false;
            password = Encoding.UTF8.GetString(bytes[(colon + 1)..]);
            if (HasControl(password)) return false;
            userName = user;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The header value for a login (tests, tools and docs use this; it is the inverse of <see cref="TryParse"/> for plain names).</summary>
    public static string Header(string userName, string password) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userName + ":" + password));

    private static bool HasControl(string text)
    {
        foreach (var c in text)
            if (char.IsControl(c)) return true;
        return false;
    }
}
