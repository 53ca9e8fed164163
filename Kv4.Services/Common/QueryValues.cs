using System.Globalization;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Common;

/// <summary>The query parameters several services share, each read and bounded in one place.</summary>
public static class QueryValues
{
    public const int MaxHistoryLimit = 10_000;

    /// <summary>`depth=N`: absent is null (no limit); otherwise 0..<see cref="AddressRules.MaxSegments"/>, larger values are capped.</summary>
    public static bool TryGetDepth(ApiQuery query, out int? depth)
    {
        depth = null;
        if (!query.TryGet("depth", out var text)) return true;
        if (!TryParseCount(text, out var value)) return false;
        depth = (int)Math.Min(value, AddressRules.MaxSegments);
        return true;
    }

    /// <summary>`limit=N` on a history read: 1..<see cref="MaxHistoryLimit"/>, default <paramref name="fallback"/>.</summary>
    public static bool TryGetLimit(ApiQuery query, int fallback, out int limit)
    {
        limit = fallback;
        if (!query.TryGet("limit", out var text)) return true;
        if (!TryParseCount(text, out var value) || value is < 1 or > MaxHistoryLimit) return false;
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
