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

    /// <summary>`depth=N`: absent is null (no limit); otherwise 0..<see cref="AddressRules.MaxSegments"/>, larger values are capped.</summary>
    public static bool TryGetDepth(ApiQuery query, out int? depth)
    {
        depth = null;
        if (!query.TryGet("depth", out var text)) return true;
        if (!TryParseCount(text, out var value)) return false;
        depth = (int)Math.Min(value, AddressRules.MaxSegments);
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
