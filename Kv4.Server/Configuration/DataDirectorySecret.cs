using System.Security.Cryptography;

namespace Kv4.Server.Configuration;

/// <summary>
/// A secret the server generates once, at first start, into the data directory, readable by the owner only
/// (mode 0600), and reads back on every later start. Created with CreateNew so two starts racing on a fresh
/// directory agree on one value, and with the mode set at creation so it is never readable by others, not even briefly.
/// </summary>
public static class DataDirectorySecret
{
    public static string ReadOrCreate(string dataDir, string fileName, int randomBytes)
    {
        EnsureDataDirectory(dataDir);
        var path = Path.Combine(dataDir, fileName);
        if (File.Exists(path)) return Read(path);
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(randomBytes));
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(path, options))
            using (var writer = new StreamWriter(stream))
                writer.Write(secret);
            return secret;
        }
        catch (IOException) when (File.Exists(path))
        {
            return Read(path);
        }
    }

    /// <summary>Creates the data directory (owner-only) when it is absent; an existing one keeps its mode.</summary>
    public static void EnsureDataDirectory(string dataDir)
    {
        if (Directory.Exists(dataDir)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dataDir);
        else Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static string Read(string path)
    {
        var text = File.ReadAllText(path).Trim();
        if (text.Length == 0) throw new InvalidOperationException($"the secret file {path} is empty; delete it to generate a new one");
        return text;
    }
}
