using Microsoft.Extensions.Options;

namespace Kv4.Server.Configuration;

/// <summary>
/// The two secrets the server needs before it serves: the `$sys` secret and the JWT signing key. Each comes from
/// configuration when given, else from a file generated once in the data directory (see <see cref="DataDirectorySecret"/>).
/// </summary>
public sealed class ServerSecrets
{
    public const string SysSecretEnvironmentVariable = "KV4_SYS_SECRET";
    public const string SysSecretFile = "sys.secret";
    public const string JwtKeyFile = "jwt-signing.key";

    public ServerSecrets(IOptions<Kv4Options> options)
    {
        var o = options.Value;
        var dataDir = o.DataDirFullPath;
        var fromEnvironment = Environment.GetEnvironmentVariable(SysSecretEnvironmentVariable);
        SystemSecretFile = Path.Combine(dataDir, SysSecretFile);
        (SystemSecret, SystemSecretSource) = !string.IsNullOrEmpty(fromEnvironment) ? (fromEnvironment, SecretSource.EnvironmentVariable)
            : !string.IsNullOrEmpty(o.SysSecret) ? (o.SysSecret, SecretSource.Configuration)
            : (DataDirectorySecret.ReadOrCreate(dataDir, SysSecretFile, 16), SecretSource.DataDirectoryFile);
        if (o.Cluster.IsConfigured && SystemSecretSource == SecretSource.DataDirectoryFile && string.IsNullOrEmpty(o.Cluster.Secret))
            throw new InvalidOperationException("a cluster node needs the secret its nodes share: set KV4_SYS_SECRET (the same on every node), " +
                "or Kv4:SysSecret, or Kv4:Cluster:Secret");
        // Every node of a cluster must verify every token: without a configured key they derive the same one.
        var key = !string.IsNullOrEmpty(o.Jwt.SigningKey) ? o.Jwt.SigningKey
            : o.Cluster.IsConfigured ? Derived(o.Cluster.Secret ?? SystemSecret, "kv4 jwt signing key v1")
            : DataDirectorySecret.ReadOrCreate(dataDir, JwtKeyFile, 32);
        JwtSigningKey = System.Text.Encoding.UTF8.GetBytes(key);
        if (JwtSigningKey.Length < 32)
            throw new InvalidOperationException("Kv4:Jwt:SigningKey must be at least 32 bytes (HMAC-SHA256)");
    }

    public string SystemSecret { get; }

    /// <summary>A key for one purpose, from a shared secret: nodes that share the secret share the key, and no other key follows from it.</summary>
    public static string Derived(string secret, string purpose) =>
        Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(purpose)));

    /// <summary>Where <see cref="SystemSecret"/> came from, so the server can say so without showing it.</summary>
    public SecretSource SystemSecretSource { get; }

    /// <summary>The full path of the generated `$sys` secret file (used when neither environment nor configuration sets one).</summary>
    public string SystemSecretFile { get; }

    public byte[] JwtSigningKey { get; }
}
