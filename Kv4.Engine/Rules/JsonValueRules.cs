using System.Text.Json;

namespace Kv4.Engine.Rules;

/// <summary>
/// The one place that accepts a value: it must be a single well-formed JSON value (any kind),
/// at most the configured size once compact, and it is stored compact: white space outside strings
/// is dropped, everything else (number spelling, string escapes) is kept byte for byte.
/// </summary>
public static class JsonValueRules
{
    public const int DefaultMaxValueBytes = 1 << 20;
    public const int MaxDepth = 64;

    /// <summary>Validates <paramref name="json"/> and returns its compact form; throws BadJson or ValueTooLarge.</summary>
    public static byte[] ValidateAndCompact(ReadOnlySpan<byte> json, int maxValueBytes)
    {
        var significant = Validate(json);
        if (significant > maxValueBytes)
            throw new EngineException(EngineError.ValueTooLarge, "value too large");
        if (significant == json.Length)
            return json.ToArray();
        var compact = new byte[significant];
        Compact(json, compact);
        return compact;
    }

    /// <summary>Checks that <paramref name="json"/> is exactly one JSON value; returns its length without insignificant white space.</summary>
    private static int Validate(ReadOnlySpan<byte> json)
    {
        // The reader checks structure but not the UTF-8 inside strings it is never asked to decode.
        if (!System.Text.Unicode.Utf8.IsValid(json)) throw new EngineException(EngineError.BadJson, "invalid UTF-8");
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read()) throw new EngineException(EngineError.BadJson, "empty value");
            reader.Skip();
            if (reader.Read()) throw new EngineException(EngineError.BadJson, "trailing data after the value");
        }
        catch (JsonException)
        {
            throw new EngineException(EngineError.BadJson, "malformed JSON");
        }
        return json.Length - CountInsignificant(json);
    }

    private static int CountInsignificant(ReadOnlySpan<byte> json)
    {
        var count = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (inString)
            {
                if (b == (byte)'\\') i++;
                else if (b == (byte)'"') inString = false;
            }
            else if (b == (byte)'"') inString = true;
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') count++;
        }
        return count;
    }

    private static void Compact(ReadOnlySpan<byte> json, Span<byte> output)
    {
        var o = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (inString)
            {
                output[o++] = b;
                if (b == (byte)'\\') output[o++] = json[++i];
                else if (b == (byte)'"') inString = false;
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') continue;
            else
            {
                if (b == (byte)'"') inString = true;
                output[o++] = b;
            }
        }
    }
}
