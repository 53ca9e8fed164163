using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Kv4.Services.Paging;

/// <summary>
/// The `cursor` a paged reply hands out: base64url of what the next page continues after, sealed with a MAC
/// over that and the listing it belongs to. Example: the key listing of elena's `/_data/a` (bucket incarnation 7)
/// cut after key "k7" hands out base64url("k7" + HMAC-SHA256(process key, "keys\nelena\n7\ndata\na" + 0 + "k7")[..16]).
/// Why sealed: a history cursor holds a log address, and the engine must never be sent to read an address a
/// client made up (it could be another bucket's record). Why the listing in the MAC: the bucket comes from
/// the caller, so a cursor taken from another bucket, path, key or listing does not open (bad_param), nor one
/// from a deleted account in the account created again under its name (another incarnation of the bucket).
/// The key lives in the process: a cursor is good until the server restarts; after that the listing starts over.
/// </summary>
public static class PageCursor
{
    private const int TagBytes = 16;
    /// <summary>Longer texts are refused before any decoding (a cursor holds at most a path or a key).</summary>
    private const int MaxTextLength = 16 * 1024;

    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// At start, before any request: the nodes of a cluster seal with one key derived from their shared secret, so a
    /// cursor one node handed out continues on any other. A single node keeps its random key.
    /// </summary>
    public static void UseSharedKey(string secret) =>
        HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), "kv4 paging cursors v1"u8).CopyTo(Key, 0);

    public static string Seal(string scope, ReadOnlySpan<byte> payload)
    {
        var sealedBytes = new byte[payload.Length + TagBytes];
        payload.CopyTo(sealedBytes);
        Tag(scope, payload, sealedBytes.AsSpan(payload.Length));
        return Base64Url.EncodeToString(sealedBytes);
    }

    /// <summary>The payload of a cursor this process sealed for <paramref name="scope"/>; false for anything else.</summary>
    public static bool TryOpen(string scope, string text, out byte[] payload)
    {
        payload = [];
        if (text.Length is 0 or > MaxTextLength) return false;
        byte[] decoded;
        try
        {
            decoded = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }
        if (decoded.Length < TagBytes) return false;
        var body = decoded.AsSpan(0, decoded.Length - TagBytes);
        Span<byte> expected = stackalloc byte[TagBytes];
        Tag(scope, body, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, decoded.AsSpan(body.Length))) return false;
        payload = body.ToArray();
        return true;
    }

    private static void Tag(string scope, ReadOnlySpan<byte> payload, Span<byte> tag)
    {
        var scopeBytes = Encoding.UTF8.GetBytes(scope);
        var message = new byte[scopeBytes.Length + 1 + payload.Length];
        scopeBytes.CopyTo(message, 0);
        message[scopeBytes.Length] = 0;
        payload.CopyTo(message.AsSpan(scopeBytes.Length + 1));
        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(Key, message, full);
        full[..TagBytes].CopyTo(tag);
    }
}
