using System.Text.Json;
using Kv4.Engine.Model;
using Kv4.Services.Api;

namespace Kv4.Services.Generic;

/// <summary>
/// Writes a history (newest first, as the engine returns it) in the contract's two shapes. Stored values are
/// copied through as bytes. Example, one put and one delete of key "a" by elena:
/// triples `[[1458109254,"elena",null],[1458109242,"elena",{"x":1}]]`;
/// full `[{"t":1458109254120,"by":"elena","op":"delete","v":null,"_ver_":"8"},{"t":1458109242003,"by":"elena","op":"put","v":{"x":1},"_ver_":"5"}]`
/// (with `"k"` in each object when the history spans every key of a path).
/// </summary>
public static class TimeSeriesWriter
{
    public static ApiReply Triples(IReadOnlyList<HistoryEntry> history) => ApiReply.OkWriter(writer =>
    {
        writer.WriteStartArray();
        foreach (var entry in history)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(Math.DivRem(entry.TimestampMs, 1000, out var ms) - (ms < 0 ? 1 : 0));
            writer.WriteStringValue(entry.Actor);
            WriteValue(writer, entry);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    });

    public static ApiReply Full(IReadOnlyList<HistoryEntry> history, bool includeKey) => ApiReply.OkWriter(writer =>
    {
        writer.WriteStartArray();
        foreach (var entry in history)
        {
            writer.WriteStartObject();
            if (includeKey) writer.WriteString("k", entry.Key);
            writer.WriteNumber("t", entry.TimestampMs);
            writer.WriteString("by", entry.Actor);
            writer.WriteString("op", entry.Op == Operation.Put ? "put" : "delete");
            writer.WritePropertyName("v");
            WriteValue(writer, entry);
            writer.WriteString("_ver_", entry.Version.ToString());
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    });

    private static void WriteValue(Utf8JsonWriter writer, HistoryEntry entry)
    {
        if (entry.Op == Operation.Put && entry.Value is { } value) writer.WriteRawValue(value.Span, skipInputValidation: true);
        else writer.WriteNullValue();
    }
}
