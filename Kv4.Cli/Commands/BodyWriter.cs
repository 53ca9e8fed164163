using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Kv4.Cli.Commands;

/// <summary>Request bodies of the template: `{"k":KEY,"v":VALUE,...}` with the value spliced in as given.</summary>
public static class BodyWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    /// <summary>A body with a key, a raw JSON value (already checked to be one document) and optional string members.</summary>
    public static string Entry(string? key, string? rawValue, params (string Name, string? Value)[] members)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            if (key is not null) writer.WriteString("k", key);
            if (rawValue is not null)
            {
                writer.WritePropertyName("v");
                writer.WriteRawValue(rawValue);
            }
            foreach (var (name, value) in members)
                if (value is not null) writer.WriteString(name, value);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A body whose `v` is an object built by <paramref name="write"/>.</summary>
    public static string WithObject(string key, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("k", key);
            writer.WritePropertyName("v");
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
