using System.Text.Json;
using System.Text.Json.Serialization;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Transfer;

/// <summary>
/// Where an import of a file stands, kept beside it (`FILE.kv4-import`) while it runs so a stopped import can go on
/// with `--resume`: the byte offset of the next line to apply, the group (path) it is in and the version of the last
/// put of that group whose reply arrived (the anchor). Lines after the anchor may or may not have been applied when
/// the import stopped; the resume asks the server, which counts them (<see cref="ImportCommand"/>). Written to a new
/// file and moved over the old one, so it is always whole. Removed when the import completes.
/// </summary>
public sealed class ImportState
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    [JsonPropertyName("file")]
    public string File { get; set; } = "";

    /// <summary>The `time` of the export's header: tells this file from another export written to the same name.</summary>
    [JsonPropertyName("export_time")]
    public long ExportTime { get; set; }

    [JsonPropertyName("url")]
    public string Url { get; set; } = "";

    [JsonPropertyName("user")]
    public string User { get; set; } = "";

    [JsonPropertyName("layer")]
    public string Layer { get; set; } = "";

    /// <summary>The byte offset of the next line to apply, or of the next group's header.</summary>
    [JsonPropertyName("offset")]
    public long Offset { get; set; }

    /// <summary>The path of the group the offset is inside; null when the offset is at a group's header.</summary>
    [JsonPropertyName("group")]
    public string? Group { get; set; }

    /// <summary>How many of the group's versions are still to apply from the offset on.</summary>
    [JsonPropertyName("group_left")]
    public long GroupLeft { get; set; }

    /// <summary>The `_ver_` the server answered for the group's last put before the offset; null if none yet.</summary>
    [JsonPropertyName("anchor")]
    public string? Anchor { get; set; }

    [JsonPropertyName("applied")]
    public long Applied { get; set; }

    /// <summary>How many groups (paths) were begun.</summary>
    [JsonPropertyName("paths")]
    public long Paths { get; set; }

    public static string PathFor(string file) => file + ".kv4-import";

    public static ImportState? Load(string path)
    {
        if (!System.IO.File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<ImportState>(System.IO.File.ReadAllBytes(path), Options)
                   ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw CliFailure.Usage($"{path} is not an import state file ({e.Message})", "delete it to start the import over (into an empty account)");
        }
    }

    public void Save(string path)
    {
        var temporary = path + ".tmp";
        try
        {
            System.IO.File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(this, Options));
            System.IO.File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliFailure.Usage($"cannot keep the import's progress in {path}: {e.Message}", "--state FILE puts it somewhere writable");
        }
    }
}
