using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Services.Tokens;

/// <summary>
/// The one source of the HMAC key that signs and verifies every Kv4 JWT. Every node of a cluster must
/// share it, so it comes from configuration (`Kv4:Jwt:SigningKey`: base64 of at least 32 bytes, or text of
/// at least 32 UTF-8 bytes); without one, a 64-byte key is generated at first start and kept in
/// `&lt;data dir&gt;/jwt-signing.key` (base64, mode 0600), then reused.
/// </summary>
public static class SigningKeySource
{
    public const string FileName = "jwt-signing.key";
    public const int MinKeyBytes = 32;

    public static SymmetricSecurityKey Load(string? configuredKey, string dataDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configuredKey))
            return new SymmetricSecurityKey(Decode(configuredKey.Trim()));
        Directory.CreateDirectory(dataDirectory);
        var file = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(file)) TryCreate(file);
        return new SymmetricSecurityKey(Decode(File.ReadAllText(file).Trim()));
    }

    private static void TryCreate(string file)
    {
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var stream = new FileStream(file, options);
            stream.Write(Encoding.ASCII.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(file))
        {
            // Another process created it first: use theirs, so both sign with one key.
        }
    }

    private static byte[] Decode(string text)
    {
        var buffer = new byte[text.Length];
        var bytes = Convert.TryFromBase64String(text, buffer, out var written) && written >= MinKeyBytes
            ? buffer[..written]
            : Encoding.UTF8.GetBytes(text);
        if (bytes.Length < MinKeyBytes)
            throw new InvalidOperationException($"Kv4:Jwt:SigningKey must hold at least {MinKeyBytes} bytes");
        return bytes;
    }
}
