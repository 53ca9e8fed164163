using System.Security.Cryptography;
using System.Text;

namespace Kv4.Cluster.Transport;

/// <summary>
/// The key every node of a cluster proves it holds before the cluster port gives it anything (see
/// <see cref="Handshake"/>). Derived from the shared secret, so the secret itself never crosses the wire and a key
/// for another purpose (cursors, tokens) derived from the same secret is a different key.
/// </summary>
public sealed class ClusterKey
{
    private readonly byte[] _key;

    public ClusterKey(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < 16) throw new ArgumentException("a cluster secret needs at least 16 bytes", nameof(secret));
        _key = HMACSHA256.HashData(secret, "kv4 cluster port v1"u8);
    }

    public static ClusterKey FromText(string secret) => new(Encoding.UTF8.GetBytes(secret));

    internal byte[] Tag(ReadOnlySpan<byte> message) => HMACSHA256.HashData(_key, message);
}
