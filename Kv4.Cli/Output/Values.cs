using System.Globalization;
using System.Text.Json;

namespace Kv4.Cli.Output;

/// <summary>How values and times are shown in kv4's human output.</summary>
public static class Values
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>On one line, as short as JSON allows (a table cell).</summary>
    public static string OneLine(JsonElement value) => JsonSerializer.Serialize(value, Compact);

    /// <summary>Indented, for a value shown alone (`kv4 get`).</summary>
    public static string Pretty(JsonElement value) => JsonSerializer.Serialize(value, Indented);

    /// <summary>Unix milliseconds as ISO 8601 UTC with milliseconds: `2026-11-23T10:05:12.123Z`.</summary>
    public static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The text with control characters (C0, DEL, C1) written as `\uXXXX`.</summary>
    public static string Printable(string text)
    {
        if (!text.Any(IsControl)) return text;
        var printable = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
            if (IsControl(c)) printable.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else printable.Append(c);
        return printable.ToString();
    }

    private static bool IsControl(char c) => c < 0x20 || c is >= '\u007f' and <= '\u009f';

    /// <summary>A number as the server sent it, or its plain text.</summary>
    public static string Cell(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Null or JsonValueKind.Undefined => "-",
        JsonValueKind.Array => value.GetArrayLength() == 0 ? "-" : string.Join(",", value.EnumerateArray().Select(Cell)),
        _ => value.GetRawText(),
    };
}
