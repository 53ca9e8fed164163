using System.Globalization;
using Kv4.Engine.Rules;

namespace Kv4.Services.Stats;

/// <summary>
/// Where rollups are stored: bucket = the recording caller's bucket, layer <see cref="Layer"/>, path = the entity,
/// key = "&lt;measurement&gt;|&lt;UTC hour yyyyMMddHH&gt;|&lt;stats key&gt;", value = that hour's per-minute rollups
/// `{"&lt;minute 0-59&gt;":[sum,min,max,count],...}`.
/// Example: elena's call `GET /_data/...` at 2016-03-16 05:07:12 UTC is counted in bucket "elena", layer "stats",
/// path "data/GET", key "api:3|2016031605|elena", member "7" → [1,1,1,1] (or added to what is there).
/// The fixed-width hour makes the ordinal key order chronological within a measurement, so a range query is one
/// sorted slice of the path's keys. One entry per hour bounds the versions a series appends to one per flush.
/// </summary>
public static class StatsSeries
{
    public const string Layer = "stats";
    public const int MaxMeasurementLength = 64;
    public const char Separator = '|';

    /// <summary>A measurement name: 1..64 characters, no control character and no '|'. Example: "api:3", "router:pkt".</summary>
    public static bool IsValidMeasurement(string? measurement) =>
        !string.IsNullOrEmpty(measurement) && measurement.Length <= MaxMeasurementLength
        && !measurement.Contains(Separator) && !measurement.Any(char.IsControl);

    public static string Key(string measurement, long hourStartMs, string statsKey) =>
        measurement + Separator + HourText(hourStartMs) + Separator + statsKey;

    /// <summary>The first possible key of a measurement's hour (no stats key sorts before "").</summary>
    public static string HourPrefix(string measurement, long hourStartMs) => measurement + Separator + HourText(hourStartMs) + Separator;

    public static bool IsValidKey(string measurement, string statsKey) =>
        AddressRules.IsValidKey(statsKey) && AddressRules.IsValidKey(Key(measurement, 0, statsKey));

    /// <summary>Splits a key of this layout; false for keys of other measurements or other shapes.</summary>
    public static bool TryParse(string key, string measurement, out long hourStartMs, out string statsKey)
    {
        hourStartMs = 0;
        statsKey = "";
        var prefix = measurement.Length + 1;
        if (key.Length < prefix + 11 || !key.StartsWith(measurement, StringComparison.Ordinal) || key[measurement.Length] != Separator
            || key[prefix + 10] != Separator) return false;
        if (!DateTime.TryParseExact(key.AsSpan(prefix, 10), "yyyyMMddHH", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var hour)) return false;
        hourStartMs = new DateTimeOffset(hour, TimeSpan.Zero).ToUnixTimeMilliseconds();
        statsKey = key[(prefix + 11)..];
        return true;
    }

    public static long MinuteStart(long unixMs) => unixMs - Mod(unixMs, 60_000);

    public static long HourStart(long unixMs) => unixMs - Mod(unixMs, 3_600_000);

    private static long Mod(long value, long divisor) => ((value % divisor) + divisor) % divisor;

    private static string HourText(long hourStartMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(hourStartMs).UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);
}
