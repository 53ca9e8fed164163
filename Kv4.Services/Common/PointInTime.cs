using System.Globalization;
using Kv4.Services.Api;

namespace Kv4.Services.Common;

/// <summary>
/// `at=T`, the instant a read is answered as of (http-api.md §10): unix milliseconds (digits only) or an ISO 8601 date
/// or date-time (no offset: UTC). This is the one parser of that grammar. Examples: "1764700800000",
/// "2025-12-02T18:40:00Z", "2025-12-02T18:40:00.250+01:00" (the `+` sent as `%2B`), "2025-12-02" (its first
/// millisecond) all parse; "yesterday", "-5", "2025-13-01", "1764700800000.5" do not (bad_param).
/// </summary>
public static class PointInTime
{
    /// <summary>The last millisecond of year 9999: anything longer is not an instant.</summary>
    private const long MaxMs = 253_402_300_799_999;

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>`at` of the query: absent (null), or false when it is given but not an instant.</summary>
    public static bool TryGet(ApiQuery query, out long? atMs)
    {
        atMs = null;
        if (!query.TryGet("at", out var text)) return true;
        if (!TryParse(text, out var ms)) return false;
        atMs = ms;
        return true;
    }

    public static bool TryParse(string? text, out long atMs)
    {
        atMs = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 40) return false;
        if (text.All(char.IsAsciiDigit))
            return text.Length <= 15 && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out atMs) && atMs <= MaxMs;
        if (!DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
            return false;
        atMs = instant.ToUnixTimeMilliseconds();
        return atMs >= 0;
    }
}
