using System.Globalization;
using System.Text.RegularExpressions;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Time;

/// <summary>
/// `--since`/`--until` as the server's time groups `Y:M:D:h:m:s` (UTC, any depth; docs/api.md `gs`/`ge`). Accepted:
/// a group as the server writes it (`2026:11:23:10`), an ISO 8601 date or time (`2026-11-23`, `2026-11-23T10:05`,
/// `2026-11-23T10:05:07+02:00`; no zone means UTC), or a time ago (`90s`, `15m`, `2h`, `7d`). An `--until` covers
/// the whole of its group, as `ge` does: `--until 2026-11-23` runs to the end of that day.
/// </summary>
public static partial class TimeBound
{
    public static string? ToGroup(string? text, string option, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (GroupPattern().IsMatch(text)) return text;

        var ago = AgoPattern().Match(text);
        if (ago.Success)
        {
            var amount = long.Parse(ago.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = ago.Groups[2].Value switch { "s" => 1L, "m" => 60L, "h" => 3600L, _ => 86400L };
            if (amount > 100L * 365 * 86400 / unit) throw Bad(text, option);
            return Group(now.AddSeconds(-amount * unit), depth: 6);
        }

        var date = DatePattern().Match(text);
        if (!date.Success) throw Bad(text, option);
        var hasZone = date.Groups["zone"].Success;
        var styles = DateTimeStyles.AdjustToUniversal | (hasZone ? DateTimeStyles.None : DateTimeStyles.AssumeUniversal);
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, styles, out var at)) throw Bad(text, option);
        var depth = date.Groups["s"].Success ? 6 : date.Groups["m"].Success ? 5 : 3;
        if (hasZone && depth < 4) throw Bad(text, option);
        return Group(at, depth);
    }

    /// <summary>
    /// `--at T` as the server's `at` (unix ms): unix ms as given, an ISO 8601 date or time (no zone means UTC), or a
    /// time ago (`15m`). Null when not given.
    /// </summary>
    public static string? ToInstant(string? text, string option, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (text.Length <= 15 && text.All(char.IsAsciiDigit)) return text;
        var ago = AgoPattern().Match(text);
        if (ago.Success)
        {
            var amount = long.Parse(ago.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = ago.Groups[2].Value switch { "s" => 1L, "m" => 60L, "h" => 3600L, _ => 86400L };
            if (amount > 100L * 365 * 86400 / unit) throw BadInstant(text, option);
            return now.AddSeconds(-amount * unit).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        }
        var date = DatePattern().Match(text);
        var styles = DateTimeStyles.AdjustToUniversal | (date.Groups["zone"].Success ? DateTimeStyles.None : DateTimeStyles.AssumeUniversal);
        if (!date.Success || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, styles, out var at) || at.ToUnixTimeMilliseconds() < 0)
            throw BadInstant(text, option);
        return at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
    }

    private static CliFailure BadInstant(string text, string option) =>
        CliFailure.Usage($"{option} {text}: not a time",
            "use unix milliseconds, 2026-11-23, 2026-11-23T10:05[:07[.250]][Z|+02:00], or a time ago: 90s, 15m, 2h, 7d");

    private static string Group(DateTimeOffset at, int depth)
    {
        var utc = at.UtcDateTime;
        int[] parts = [utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, utc.Second];
        return string.Join(':', parts.Take(depth).Select(p => p.ToString(CultureInfo.InvariantCulture)));
    }

    private static CliFailure Bad(string text, string option) =>
        CliFailure.Usage($"{option} {text}: not a time",
            "use 2026-11-23, 2026-11-23T10:05[:07][Z|+02:00], a group 2026:11:23:10, or a time ago: 90s, 15m, 2h, 7d");

    [GeneratedRegex(@"^\d{4}(:\d{1,2}){0,5}$")]
    private static partial Regex GroupPattern();

    [GeneratedRegex(@"^(\d{1,10})([smhd])$")]
    private static partial Regex AgoPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(T(?<h>\d{2}):(?<m>\d{2})(:(?<s>\d{2})(\.\d+)?)?)?(?<zone>Z|[+-]\d{2}:\d{2})?$")]
    private static partial Regex DatePattern();
}
