using System.Globalization;

namespace Kv4.Services.Common;

/// <summary>
/// A UTC calendar group written as a prefix of `Y:M:D:h:m:s` (the contract's `gs`/`ge`, and the group keys of
/// `_stats?break=1`). The number of fields is the group's depth (1 = a year ... 6 = a second).
/// Example: "2016:3:16:3" has Depth 4 and spans 2016-03-16T03:00:00.000Z to 03:59:59.999Z, so
/// StartMs = 1458097200000 and EndInclusiveMs = 1458100799999. This is the one parser of that grammar.
/// </summary>
public readonly record struct TimeGroup(int Depth, long StartMs, long EndInclusiveMs)
{
    public const int MaxDepth = 6;
    private const int MinYear = 1970;
    private const int MaxYear = 9998;

    /// <summary>Parses a group: 1 to 6 ':'-separated decimal fields, each within the calendar (month 1-12, a real day, hour 0-23, ...).</summary>
    public static bool TryParse(string? text, out TimeGroup group)
    {
        group = default;
        if (string.IsNullOrEmpty(text) || text.Length > 32) return false;
        Span<int> fields = stackalloc int[MaxDepth];
        var depth = 0;
        foreach (var range in text.AsSpan().Split(':'))
        {
            var field = text.AsSpan()[range];
            if (depth == MaxDepth || field.Length is 0 or > 4) return false;
            foreach (var c in field)
                if (c is < '0' or > '9') return false;
            fields[depth++] = int.Parse(field, NumberStyles.None, CultureInfo.InvariantCulture);
        }
        int year = fields[0], month = depth > 1 ? fields[1] : 1, day = depth > 2 ? fields[2] : 1;
        int hour = depth > 3 ? fields[3] : 0, minute = depth > 4 ? fields[4] : 0, second = depth > 5 ? fields[5] : 0;
        if (year is < MinYear or > MaxYear || month is < 1 or > 12) return false;
        if (day < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        if (hour > 23 || minute > 59 || second > 59) return false;

        var start = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        var end = depth switch
        {
            1 => start.AddYears(1),
            2 => start.AddMonths(1),
            3 => start.AddDays(1),
            4 => start.AddHours(1),
            5 => start.AddMinutes(1),
            _ => start.AddSeconds(1),
        };
        group = new TimeGroup(depth, ToUnixMs(start), ToUnixMs(end) - 1);
        return true;
    }

    /// <summary>
    /// The inclusive unix-ms range of `gs`..`ge`: from the start of gs's group to the end of ge's group. Either may be
    /// absent (open end). False when one is malformed or the range is empty (gs after ge).
    /// </summary>
    public static bool TryParseRange(string? gs, string? ge, out long fromMs, out long toMs)
    {
        fromMs = long.MinValue;
        toMs = long.MaxValue;
        if (gs is not null)
        {
            if (!TryParse(gs, out var start)) return false;
            fromMs = start.StartMs;
        }
        if (ge is not null)
        {
            if (!TryParse(ge, out var end)) return false;
            toMs = end.EndInclusiveMs;
        }
        return fromMs <= toMs;
    }

    /// <summary>The key of the group of <paramref name="unixMs"/> at <paramref name="depth"/>, e.g. "2016:3:16:5" (no leading zeros).</summary>
    public static string Format(long unixMs, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, MaxDepth);
        var t = DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime;
        Span<int> fields = [t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Second];
        return string.Join(':', fields[..depth].ToArray());
    }

    private static long ToUnixMs(DateTime utc) => new DateTimeOffset(utc).ToUnixTimeMilliseconds();
}
