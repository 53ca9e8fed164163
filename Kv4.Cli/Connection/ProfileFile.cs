using System.Text.Json;
using System.Text.Json.Serialization;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Connection;

/// <summary>
/// `~/.config/kv4/profiles.json` (or `$XDG_CONFIG_HOME/kv4/profiles.json`, or the file `KV4_PROFILES` names):
/// `{"profiles":{"NAME":{"url":..,"user":..,"secret":..}}}`. It holds secrets, so kv4 writes it readable by its
/// owner only and warns when it finds it readable by others.
/// </summary>
public sealed class ProfileFile
{
    private const long MaxBytes = 1 << 20;

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    [JsonPropertyName("profiles")]
    public SortedDictionary<string, Profile> Profiles { get; set; } = new(StringComparer.Ordinal);

    public static string DefaultPath(Func<string, string?> environment)
    {
        if (environment("KV4_PROFILES") is { Length: > 0 } explicitPath) return explicitPath;
        var config = environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(config, "kv4", "profiles.json");
    }

    public static ProfileFile Load(string path)
    {
        if (!File.Exists(path)) return new ProfileFile();
        var info = new FileInfo(path);
        if (info.Length > MaxBytes) throw CliFailure.Usage($"{path} is over {MaxBytes} bytes: not a profile file");
        WarnIfOthersCanRead(path);
        try
        {
            var file = JsonSerializer.Deserialize<ProfileFile>(File.ReadAllBytes(path), Options) ?? new ProfileFile();
            file.Profiles = new SortedDictionary<string, Profile>(file.Profiles ?? [], StringComparer.Ordinal);
            return file;
        }
        catch (JsonException e)
        {
            throw CliFailure.Usage($"{path} is not a profile file: {e.Message}", "expected {\"profiles\":{\"NAME\":{\"url\":..,\"user\":..,\"secret\":..}}}");
        }
    }

    /// <summary>Written to a new file that only its owner can read, then moved over the old one.</summary>
    public void Save(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, options))
            JsonSerializer.Serialize(stream, this, Options);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, path, overwrite: true);
    }

    private static void WarnIfOthersCanRead(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        var others = UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if ((File.GetUnixFileMode(path) & others) != 0)
            Console.Error.WriteLine($"kv4: warning: {path} holds secrets and others can read it (chmod 600 {path})");
    }
}
