using System.Text.Json;

namespace Kv4.Services.Common;

/// <summary>
/// Top-level members of a JSON object read straight from its UTF-8 bytes, without building a document.
/// Used to take the client's `_ver_` out of a value before it is stored, and to read that `_ver_`.
/// </summary>
public static class JsonMembers
{
    /// <summary>
    /// <paramref name="json"/> without the top-level member <paramref name="name"/>; the same memory when it is
    /// not an object or has no such member. Example: `{"a":1,"_ver_":"7","b":2}` without `_ver_` is `{"a":1,"b":2}`.
    /// The input must be well-formed JSON (callers have parsed it already).
    /// </summary>
    public static ReadOnlyMemory<byte> Without(ReadOnlyMemory<byte> json, string name)
    {
        var span = json.Span;
        var first = FirstSignificant(span);
        if (first < 0 || span[first] != (byte)'{') return json;

        var reader = new Utf8JsonReader(span);
        reader.Read();
        List<(int Start, int End)>? kept = null;
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var start = (int)reader.TokenStartIndex;
            var matches = reader.ValueTextEquals(name);
            reader.Read();
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (matches) found = true;
            else (kept ??= []).Add((start, end));
        }
        if (!found) return json;

        // Dropping a member only shrinks the text, so the input's length bounds the output.
        var output = new byte[span.Length];
        var o = 0;
        output[o++] = (byte)'{';
        if (kept is not null)
            for (var i = 0; i < kept.Count; i++)
            {
                if (i > 0) output[o++] = (byte)',';
                span[kept[i].Start..kept[i].End].CopyTo(output.AsSpan(o));
                o += kept[i].End - kept[i].Start;
            }
        output[o++] = (byte)'}';
        return output.AsMemory(0, o);
    }

    /// <summary>The top-level member <paramref name="name"/> of an object as text (a string's value or a number's digits).</summary>
    public static bool TryGetScalar(ReadOnlySpan<byte> json, string name, out string? text, out bool wrongKind)
    {
        text = null;
        wrongKind = false;
        var first = FirstSignificant(json);
        if (first < 0 || json[first] != (byte)'{') return false;
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var matches = reader.ValueTextEquals(name);
            reader.Read();
            if (matches)
            {
                text = ScalarText(ref reader, out wrongKind);
                return true;
            }
            reader.Skip();
        }
        return false;
    }

    /// <summary>A string's value or a number's digits at the reader's current token; anything else is the wrong kind.</summary>
    internal static string? ScalarText(ref Utf8JsonReader reader, out bool wrongKind)
    {
        wrongKind = false;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                return System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
            default:
                wrongKind = true;
                reader.Skip();
                return null;
        }
    }

    private static int FirstSignificant(ReadOnlySpan<byte> json)
    {
        for (var i = 0; i < json.Length; i++)
            if (json[i] is not ((byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')) return i;
        return -1;
    }
}
