using System.Text;

namespace Kv4.Engine.Rules;

/// <summary>
/// The one place that says what a bucket, layer, path and key may be.
/// Path: '/'-separated segments; a leading or trailing '/' is dropped; no empty, "." or ".." segment;
/// at most <see cref="MaxSegments"/> segments of at most <see cref="MaxSegmentBytes"/> UTF-8 bytes; no control
/// characters. Key: 1..<see cref="MaxKeyBytes"/> UTF-8 bytes, no control characters.
/// Layer: [a-z0-9:_-]{1,64}. Bucket: an account name, at most one '#' (buckets nest two levels).
/// </summary>
public static class AddressRules
{
    public const int MaxSegments = 32;
    public const int MaxSegmentBytes = 255;
    public const int MaxKeyBytes = 512;
    public const int MaxLayerLength = 64;
    public const int MaxBucketBytes = 2 * MaxKeyBytes + 1;

    /// <summary>Returns the normal form of <paramref name="raw"/> or throws <see cref="EngineError.BadPath"/>.</summary>
    public static string NormalizePath(string raw)
    {
        if (!TryNormalizePath(raw, out var path))
            throw new EngineException(EngineError.BadPath, "invalid path");
        return path;
    }

    public static bool TryNormalizePath(string raw, out string path)
    {
        path = "";
        var span = raw.AsSpan();
        if (span.Length > 0 && span[0] == '/') span = span[1..];
        // Only one slash is dropped at each end, so "//" still has an empty segment and is refused.
        if (span.Length > 1 && span[^1] == '/') span = span[..^1];
        if (span.Length == 0) return true;

        var segments = 0;
        foreach (var range in span.Split('/'))
        {
            var segment = span[range];
            segments++;
            if (segments > MaxSegments || segment.Length == 0) return false;
            if (segment is "." or "..") return false;
            if (HasControl(segment) || Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes) return false;
        }
        path = span.Length == raw.Length ? raw : span.ToString();
        return true;
    }

    public static void ValidateKey(string key)
    {
        if (!IsValidKey(key)) throw new EngineException(EngineError.BadKey, "invalid key");
    }

    public static bool IsValidKey(string? key) =>
        !string.IsNullOrEmpty(key) && !HasControl(key) && Encoding.UTF8.GetByteCount(key) <= MaxKeyBytes;

    public static void ValidateLayer(string layer)
    {
        if (!IsValidLayer(layer)) throw new EngineException(EngineError.BadLayer, "invalid layer");
    }

    public static bool IsValidLayer(string? layer)
    {
        if (string.IsNullOrEmpty(layer) || layer.Length > MaxLayerLength) return false;
        foreach (var c in layer)
        {
            var ok = c is >= 'a' and <= 'z' or >= '0' and <= '9' or ':' or '_' or '-';
            if (!ok) return false;
        }
        return true;
    }

    public static void ValidateBucket(string bucket)
    {
        if (!IsValidBucket(bucket)) throw new EngineException(EngineError.BadBucket, "invalid bucket");
    }

    public static bool IsValidBucket(string? bucket)
    {
        if (string.IsNullOrEmpty(bucket) || HasControl(bucket) || bucket.Contains('/')) return false;
        if (Encoding.UTF8.GetByteCount(bucket) > MaxBucketBytes) return false;
        var hash = bucket.IndexOf('#');
        return hash < 0 || (hash > 0 && hash < bucket.Length - 1 && bucket.IndexOf('#', hash + 1) < 0);
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="prefix"/> or below it, by whole segments.</summary>
    public static bool IsUnder(string path, string prefix) =>
        prefix.Length == 0
        || (path.StartsWith(prefix, StringComparison.Ordinal)
            && (path.Length == prefix.Length || path[prefix.Length] == '/'));

    private static bool HasControl(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (char.IsControl(c)) return true;
        return false;
    }
}
