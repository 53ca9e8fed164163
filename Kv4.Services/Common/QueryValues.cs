using System.Globalization;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Common;

/// <summary>The query parameters several services share, each read and bounded in one place.</summary>
public static class QueryValues
{
    /// <summary>The largest page any listing serves. A larger `limit` is bad_param rather than clamped: the caller learns the bound instead of silently getting a smaller page.</summary>
    public const int MaxPageSize = 10_000;

    /// <summary>The page size of a key, path or node listing that gives no `limit`.</summary>
    public const int DefaultListingPageSize = 1000;

    /// <summary>
    /// `depth=N` of a listing at <paramref name="path"/>: N segments **below that path** (as the Xirsys v3 namespace
    /// counts it), answered as the depth from the root the engine's path listings take. Absent is null
    /// (no limit); otherwise a non-negative integer, capped at <see cref="AddressRules.MaxSegments"/> from the root.
    /// Example: at path "a/b", depth=1 is 3 from the root (a/b and a/b/x, not a/b/x/y); at the root depth=1 stays 1.
    /// </summary>
    public static bool TryGetDepth(ApiQuery query, string path, out int? depth)
    {
        depth = null;
        if (!query.TryGet("depth", out var text)) return true;
        if (!TryParseCount(text, out var value)) return false;
        var below = path.Length == 0 ? 0 : path.Count(c => c == '/') + 1;
        depth = (int)Math.Min(value + below, AddressRules.MaxSegments);
        return true;
    }

    /// <summary>`limit=N`, the page size of a listing or a history: 1..<see cref="MaxPageSize"/>, default <paramref name="fallback"/>.</summary>
    public static bool TryGetLimit(ApiQuery query, int fallback, out int limit)
    {
        limit = fallback;
        if (!query.TryGet("limit", out var text)) return true;
        if (!TryParseCount(text, out var value) || value is < 1 or > MaxPageSize) return false;
        limit = (int)value;
        return true;
    }

    /// <summary>A key given in the query (`k`, `k2`...): present and valid, absent, or invalid (bad_key).</summary>
    public static bool TryGetKey(ApiQuery query, string name, out string? key)
    {
        key = query.Get(name);
        return key is null || AddressRules.IsValidKey(key);
    }

    private static bool TryParseCount(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && text.Length <= 18;
}
