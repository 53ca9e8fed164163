using System.Security.Cryptography;
using System.Text;

namespace Kv4.Cluster.Transport;

/// <summary>
/// The first bytes of every connection to a cluster port: both ends prove they hold the <see cref="ClusterKey"/>,
/// with fresh nonces, before anything else is read or written. An outsider gets a nonce and a tag it cannot use,
/// and the connection closes; a recorded handshake replays nowhere (the other end's nonce differs every time).
/// <code>
///   client → server   "KV4C" 1 kind name(len+utf8) nonceC(16)
///   server → client   name(len+utf8) nonceS(16) HMAC(key, "S" kind client server nonceC nonceS)
///   client → server   HMAC(key, "C" kind client server nonceC nonceS)
/// </code>
/// After it the connection belongs to the kind's protocol. It authenticates; it does not encrypt (the cluster's
/// network should be private, see docs/cluster.md).
/// </summary>
public static class Handshake
{
    private static readonly byte[] Magic = "KV4C"u8.ToArray();
    private const byte Version = 1;
    private const int NonceBytes = 16;
    private const int TagBytes = 32;
    private const int MaxNameBytes = 255;

    /// <summary>The connecting side; answers the server's node name. Throws <see cref="AuthenticationException"/> when the server does not prove the key.</summary>
    public static async Task<string> ClientAsync(Stream stream, ClusterKey key, ChannelKind kind, string self, CancellationToken cancellationToken)
    {
        var nonceC = RandomNumberGenerator.GetBytes(NonceBytes);
        var name = Name(self);
        var hello = new byte[Magic.Length + 2 + 1 + name.Length + NonceBytes];
        Magic.CopyTo(hello, 0);
        hello[4] = Version;
        hello[5] = (byte)kind;
        hello[6] = (byte)name.Length;
        name.CopyTo(hello, 7);
        nonceC.CopyTo(hello, 7 + name.Length);
        await stream.WriteAsync(hello, cancellationToken).ConfigureAwait(false);

        var serverName = await ReadNameAsync(stream, cancellationToken).ConfigureAwait(false);
        var nonceS = await ReadExactlyAsync(stream, NonceBytes, cancellationToken).ConfigureAwait(false);
        var serverTag = await ReadExactlyAsync(stream, TagBytes, cancellationToken).ConfigureAwait(false);
        var transcript = Transcript(kind, name, Name(serverName), nonceC, nonceS);
        if (!CryptographicOperations.FixedTimeEquals(serverTag, key.Tag(Prefixed((byte)'S', transcript))))
            throw new AuthenticationException("the cluster port did not prove the cluster key");
        await stream.WriteAsync(key.Tag(Prefixed((byte)'C', transcript)), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        return serverName;
    }

    /// <summary>The accepting side; answers the kind and the client's node name. Throws <see cref="AuthenticationException"/> for anything else.</summary>
    public static async Task<(ChannelKind Kind, string Client)> ServerAsync(Stream stream, ClusterKey key, string self, CancellationToken cancellationToken)
    {
        var head = await ReadExactlyAsync(stream, Magic.Length + 2, cancellationToken).ConfigureAwait(false);
        if (!head.AsSpan(0, Magic.Length).SequenceEqual(Magic) || head[4] != Version || head[5] is not ((byte)ChannelKind.Raft or (byte)ChannelKind.Bus))
            throw new AuthenticationException("not a cluster handshake");
        var kind = (ChannelKind)head[5];
        var client = await ReadNameAsync(stream, cancellationToken).ConfigureAwait(false);
        var nonceC = await ReadExactlyAsync(stream, NonceBytes, cancellationToken).ConfigureAwait(false);

        var nonceS = RandomNumberGenerator.GetBytes(NonceBytes);
        var name = Name(self);
        var transcript = Transcript(kind, Name(client), name, nonceC, nonceS);
        var reply = new byte[1 + name.Length + NonceBytes + TagBytes];
        reply[0] = (byte)name.Length;
        name.CopyTo(reply, 1);
        nonceS.CopyTo(reply, 1 + name.Length);
        key.Tag(Prefixed((byte)'S', transcript)).CopyTo(reply, 1 + name.Length + NonceBytes);
        await stream.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        var clientTag = await ReadExactlyAsync(stream, TagBytes, cancellationToken).ConfigureAwait(false);
        if (!CryptographicOperations.FixedTimeEquals(clientTag, key.Tag(Prefixed((byte)'C', transcript))))
            throw new AuthenticationException("the client did not prove the cluster key");
        return (kind, client);
    }

    private static byte[] Name(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length is 0 or > MaxNameBytes) throw new ArgumentException("a node name has 1 to 255 bytes", nameof(name));
        return bytes;
    }

    private static byte[] Transcript(ChannelKind kind, byte[] client, byte[] server, byte[] nonceC, byte[] nonceS)
    {
        var transcript = new byte[1 + 2 + client.Length + server.Length + 2 * NonceBytes];
        var n = 0;
        transcript[n++] = (byte)kind;
        transcript[n++] = (byte)client.Length;
        client.CopyTo(transcript, n);
        n += client.Length;
        transcript[n++] = (byte)server.Length;
        server.CopyTo(transcript, n);
        n += server.Length;
        nonceC.CopyTo(transcript, n);
        nonceS.CopyTo(transcript, n + NonceBytes);
        return transcript;
    }

    private static byte[] Prefixed(byte prefix, byte[] transcript)
    {
        var message = new byte[1 + transcript.Length];
        message[0] = prefix;
        transcript.CopyTo(message, 1);
        return message;
    }

    private static async Task<string> ReadNameAsync(Stream stream, CancellationToken cancellationToken)
    {
        var length = (await ReadExactlyAsync(stream, 1, cancellationToken).ConfigureAwait(false))[0];
        if (length == 0) throw new AuthenticationException("an empty node name");
        var bytes = await ReadExactlyAsync(stream, length, cancellationToken).ConfigureAwait(false);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new AuthenticationException("a node name that is not UTF-8");
        }
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new AuthenticationException("the connection ended in the handshake");
        }
        return buffer;
    }
}

/// <summary>A cluster handshake that failed: the connection is closed without another byte.</summary>
public sealed class AuthenticationException(string message) : Exception(message);
