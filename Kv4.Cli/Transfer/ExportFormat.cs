using System.Buffers;
using System.Text.Json;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Transfer;

/// <summary>
/// The export file (docs/cli.md, "Export and import"): JSON lines. The first line says what it is:
/// <code>{"kv4":"export","format":1,"layer":"data","path":"notes","source":"http://127.0.0.1:4000","user":"elena","time":1763900000123}</code>
/// then one group per path holding entries, a group header and that path's versions, oldest first (every key of the
/// path, merged in the order they were written):
/// <code>
/// {"group":"notes","versions":2}
/// {"path":"notes","k":"today","t":1763900000123,"by":"elena","op":"put","v":{"text":"hello"},"_ver_":"2886218022913"}
/// {"path":"notes","k":"today","t":1763900000456,"by":"elena","op":"delete","v":null,"_ver_":"2886218022914"}
/// </code>
/// A group is written whole or not at all (its versions are read first), so a file cut short ends in a complete
/// group or in a partial last one that a resume drops.
/// </summary>
public static class ExportFormat
{
    public const int Version = 1;

    public sealed record Header(string Layer, string Path, string? Source, string? User, long Time);

    public sealed record Group(string Path, long Versions);

    public sealed record Record(string Path, string Key, string Op, JsonElement Value, long Time, string By, string VersionId);

    public static byte[] HeaderLine(Header header) => Line(writer =>
    {
        writer.WriteString("kv4", "export");
        writer.WriteNumber("format", Version);
        writer.WriteString("layer", header.Layer);
        writer.WriteString("path", header.Path);
        if (header.Source is not null) writer.WriteString("source", header.Source);
        if (header.User is not null) writer.WriteString("user", header.User);
        writer.WriteNumber("time", header.Time);
    });

    public static byte[] GroupLine(Group group) => Line(writer =>
    {
        writer.WriteString("group", group.Path);
        writer.WriteNumber("versions", group.Versions);
    });

    /// <summary>
    /// One version as the server's `format=full` path history gives it, with the path in front. Members are copied
    /// as the server wrote them, so a value keeps its exact text (spacing, escapes, number forms) for the import.
    /// </summary>
    public static byte[] RecordLine(string path, JsonElement version) => Line(writer =>
    {
        writer.WriteString("path", path);
        foreach (var member in version.EnumerateObject())
        {
            writer.WritePropertyName(member.Name);
            writer.WriteRawValue(member.Value.GetRawText(), skipInputValidation: true);
        }
    });

    public static Header ReadHeader(byte[]? line, string file)
    {
        try
        {
            if (line is null) throw new JsonException("empty");
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.GetProperty("kv4").GetString() != "export") throw new JsonException("not an export");
            var format = root.GetProperty("format").GetInt32();
            if (format != Version)
                throw CliFailure.Usage($"{file} is a kv4 export of format {format}; this kv4 reads format {Version}");
            return new Header(root.GetProperty("layer").GetString()!, root.GetProperty("path").GetString()!,
                Optional(root, "source"), Optional(root, "user"), root.GetProperty("time").GetInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw CliFailure.Usage($"{file} does not start with a kv4 export header", "make it with: kv4 export PATH FILE");
        }
    }

    /// <summary>A group header or a version line; anything else is not this format.</summary>
    public static object ReadLine(byte[] line, string file, long offset)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.TryGetProperty("group", out var group))
                return new Group(group.GetString()!, root.GetProperty("versions").GetInt64());
            return new Record(root.GetProperty("path").GetString()!, root.GetProperty("k").GetString()!, root.GetProperty("op").GetString()!,
                root.GetProperty("v").Clone(), root.GetProperty("t").GetInt64(), root.GetProperty("by").GetString()!,
                root.GetProperty("_ver_").GetString()!);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw CliFailure.Usage($"{file}: the line ending at byte {offset} is not a group or a version of a kv4 export ({e.Message})");
        }
    }

    private static string? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[] Line(Action<Utf8JsonWriter> members)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
