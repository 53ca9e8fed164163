using Kv4.Engine.Rules;

namespace Kv4.Server.Endpoints;

/// <summary>
/// Splits a request target `/_&lt;service&gt;/&lt;path&gt;?query` into the service name and the normal-form path,
/// and is the one place that decides which raw targets may be routed at all.
/// It reads the RAW target, because Kestrel removes `..` segments (and decodes `%2e%2e` into them) and decodes
/// escapes before routing: `/_data/a/../b` must be refused as `bad_path`, not quietly served as `/_data/b`.
/// The path is percent-decoded (`%2F` becomes a separator like `/`), then checked by <see cref="AddressRules"/>.
/// Examples: `/_ns` → ("ns", ""); `/_ns/?depth=5` → ("ns", ""); `/_data/a/b%20c?k=x` → ("data", "a/b c");
/// `/_data/a/%2e%2e/b` → bad path; `http://host/_ns` (absolute form, through a proxy) → ("ns", "").
/// A target that is not literally `/_name` but would reach a route after that normalization is
/// <see cref="Outcome.Disguised"/>: `/x/../_data/b`, `/x/%2e%2e/healthz`, `/metrics/.`, `/%5F%64ata/b`, `/_%64ata/b`.
/// `/healthz` and `/x/..%2Fy` (Kestrel keeps `%2F`, so no segment is removed) are <see cref="Outcome.NotApi"/>.
/// </summary>
public static class ApiTarget
{
    public enum Outcome
    {
        Ok,
        /// <summary>Not of the form `/_name...`, and routed as written.</summary>
        NotApi,
        BadPath,
        /// <summary>Reaches its route only through dot segments or an escaped service name: refused `bad_path` before any service is chosen.</summary>
        Disguised,
    }

    /// <summary>
    /// The route a raw target may take, without parsing its path: <see cref="Outcome.Ok"/> for the template
    /// (its path is checked by <see cref="TryParse"/>), <see cref="Outcome.Disguised"/> or <see cref="Outcome.NotApi"/>.
    /// </summary>
    public static Outcome Classify(string rawTarget)
    {
        var target = PathOf(rawTarget);
        if (target.Length >= 2 && target[0] == '/' && target[1] == '_')
        {
            var name = target[2..];
            var slash = name.IndexOf('/');
            if (slash >= 0) name = name[..slash];
            return name.Contains('%') ? Outcome.Disguised : Outcome.Ok;
        }
        // `%5F` is the only first character that Kestrel decodes into the template's `_`.
        if (target.Length >= 4 && target[0] == '/' && target[1] == '%' && target[2] == '5' && (target[3] | 0x20) == 'f')
            return Outcome.Disguised;
        return HasDotSegment(target) ? Outcome.Disguised : Outcome.NotApi;
    }

    public static Outcome TryParse(string rawTarget, out string service, out string path)
    {
        service = "";
        path = "";
        var classified = Classify(rawTarget);
        if (classified != Outcome.Ok) return classified;
        var target = PathOf(rawTarget);
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

    /// <summary>The path part of an origin-form (`/a?q`) or absolute-form (`http://host/a?q`) target.</summary>
    private static ReadOnlySpan<char> PathOf(string rawTarget)
    {
        var target = rawTarget.AsSpan();
        var query = target.IndexOf('?');
        if (query >= 0) target = target[..query];
        if (target.Length > 0 && target[0] != '/')
        {
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0) return target;
            var authority = target[(scheme + 3)..];
            var slash = authority.IndexOf('/');
            target = slash < 0 ? "/" : authority[slash..];
        }
        return target;
    }

    /// <summary>Whether a segment between `/` is `.` or `..`, each dot written as itself or as `%2e`/`%2E`: the segments Kestrel removes.</summary>
    private static bool HasDotSegment(ReadOnlySpan<char> path)
    {
        while (!path.IsEmpty)
        {
            var slash = path.IndexOf('/');
            var segment = slash < 0 ? path : path[..slash];
            path = slash < 0 ? ReadOnlySpan<char>.Empty : path[(slash + 1)..];
            var dots = 0;
            while (!segment.IsEmpty && dots <= 2)
            {
                if (segment[0] == '.') segment = segment[1..];
                else if (segment.Length >= 3 && segment[0] == '%' && segment[1] == '2' && (segment[2] | 0x20) == 'e') segment = segment[3..];
                else break;
                dots++;
            }
            if (segment.IsEmpty && dots is 1 or 2) return true;
        }
        return false;
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
