using System.Text.Json;
using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Paging;

namespace Kv4.Services.Generic;

/// <summary>
/// Writes a history (newest first, as the engine returns it) in the contract's two shapes, one version at a
/// time as the engine reads it, paged by <see cref="PagedArray"/>. Stored values are copied through as bytes.
/// Example, one put and one delete of key "a" by elena:
/// triples `[[1458109254,"elena",null],[1458109242,"elena",{"x":1}]]`;
/// full `[{"t":1458109254120,"by":"elena","op":"delete","v":null,"_ver_":"8"},{"t":1458109242003,"by":"elena","op":"put","v":{"x":1},"_ver_":"5"}]`
/// (with `"k"` in each object when the history spans every key of a path).
/// </summary>
public static class TimeSeriesWriter
{
    /// <summary>
    /// Reads the first version now, so an engine refusal is still an ordinary reply, and streams the rest as the
    /// reply is written. The enumerator (and the engine's hold on the log) ends with the reply.
    /// </summary>
    /// <param name="shown">When set, what of each stored value the client may see (a delete's null is not passed to it).</param>
    public static async ValueTask<ApiReply> PageAsync(IAsyncEnumerable<HistoryEntry> history, PageRequest page, bool full, bool includeKey,
        CancellationToken cancellationToken, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>? shown = null)
    {
        var versions = history.GetAsyncEnumerator(cancellationToken);
        bool hasFirst;
        try
        {
            hasFirst = await versions.MoveNextAsync().ConfigureAwait(false);
        }
        catch
        {
            await versions.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        Action<Utf8JsonWriter, HistoryEntry> write = !full ? WriteTriple : includeKey ? WriteFullWithKey : WriteFull;
        if (shown is not null)
        {
            var inner = write;
            write = (writer, entry) => inner(writer, entry.Value is { } value ? entry with { Value = shown(value) } : entry);
        }
        return PagedArray.Reply(versions, hasFirst, page.Limit, write, entry => page.CursorAfter(entry.Position));
    }

    private static void WriteTriple(Utf8JsonWriter writer, HistoryEntry entry)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(Math.DivRem(entry.TimestampMs, 1000, out var ms) - (ms < 0 ? 1 : 0));
        writer.WriteStringValue(entry.Actor);
        WriteValue(writer, entry);
        writer.WriteEndArray();
    }

    private static void WriteFullWithKey(Utf8JsonWriter writer, HistoryEntry entry) => WriteFull(writer, entry, includeKey: true);

    private static void WriteFull(Utf8JsonWriter writer, HistoryEntry entry) => WriteFull(writer, entry, includeKey: false);

    private static void WriteFull(Utf8JsonWriter writer, HistoryEntry entry, bool includeKey)
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

    private static void WriteValue(Utf8JsonWriter writer, HistoryEntry entry)
    {
        if (entry.Op == Operation.Put && entry.Value is { } value) writer.WriteRawValue(value.Span, skipInputValidation: true);
        else writer.WriteNullValue();
    }
}
