using Kv4.Engine.Rules;

namespace Kv4.Server.Endpoints;

/// <summary>
/// Splits a request target `/_&lt;service&gt;/&lt;path&gt;?query` into the service name and the normal-form path.
/// It reads the RAW target, because Kestrel removes `..` segments (and decodes `%2e%2e` into them) before
/// routing: `/_data/a/../b` must be refused as `bad_path`, not quietly served as `/_data/b`.
/// The path is percent-decoded (`%2F` becomes a separator like `/`), then checked by <see cref="AddressRules"/>.
/// Examples: `/_ns` → ("ns", ""); `/_ns/?depth=5` → ("ns", ""); `/_data/a/b%20c?k=x` → ("data", "a/b c");
/// `/_data/a/%2e%2e/b` → bad path.
/// </summary>
public static class ApiTarget
{
    public enum Outcome
    {
        Ok,
        /// <summary>Not of the form `/_name...`.</summary>
        NotApi,
        BadPath,
    }

    public static Outcome TryParse(string rawTarget, out string service, out string path)
    {
        service = "";
        path = "";
        var target = rawTarget.AsSpan();
        var query = target.IndexOf('?');
        if (query >= 0) target = target[..query];
        if (target.Length < 3 || target[0] != '/' || target[1] != '_') return Outcome.NotApi;
        var rest = target[2..];
        var slash = rest.IndexOf('/');
        var name = slash < 0 ? rest : rest[..slash];
        if (name.IsEmpty) return Outcome.NotApi;
        service = name.ToString();
        var rawPath = slash < 0 ? ReadOnlySpan<char>.Empty : rest[slash..];
        if (rawPath.IsEmpty || rawPath is "/") return Outcome.Ok;

        string candidate;
        if (rawPath.Contains('%'))
        {
            if (!TryPercentDecode(rawPath, out candidate)) return Outcome.BadPath;
        }
        else
        {
            candidate = rawPath.ToString();
        }
        return AddressRules.TryNormalizePath(candidate, out path) ? Outcome.Ok : Outcome.BadPath;
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes %XX escapes as UTF-8 bytes; a malformed escape or bytes that are not UTF-8 make the path bad.</summary>
    private static bool TryPercentDecode(ReadOnlySpan<char> raw, out string decoded)
    {
        decoded = "";
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(raw.Length * 3);
        try
        {
            var length = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                var c = raw[i];
                if (c == '%')
                {
                    if (i + 2 >= raw.Length || !byte.TryParse(raw.Slice(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
                        return false;
                    bytes[length++] = b;
                    i += 2;
                }
                else if (c < 0x80)
                {
                    bytes[length++] = (byte)c;
                }
                else
                {
                    length += System.Text.Encoding.UTF8.GetBytes(raw.Slice(i, 1), bytes.AsSpan(length));
                }
            }
            decoded = StrictUtf8.GetString(bytes, 0, length);
            return true;
        }
        catch (System.Text.DecoderFallbackException)
        {
            return false;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
