using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Kv4.Cluster.Transport;

/// <summary>
/// DotNext's Raft over the cluster port: its listener takes the Raft connections the <see cref="ClusterListener"/>
/// authenticated, and its client dials through the same <see cref="Handshake"/>, so Raft needs no port of its own
/// and an outsider cannot vote, append or read the membership.
/// </summary>
internal sealed class RaftTransport(ClusterListener listener, ClusterKey key, string self, TimeSpan connectTimeout)
    : IConnectionListenerFactory, IConnectionFactory
{
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IConnectionListener>(new Listener(endpoint, listener));

    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        await SocketConnection.ConnectAsync(endpoint, key, ChannelKind.Raft, self, connectTimeout, cancellationToken).ConfigureAwait(false);

    private sealed class Listener(EndPoint endpoint, ClusterListener listener) : IConnectionListener
    {
        public EndPoint EndPoint { get; } = endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await listener.RaftConnections.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (System.Threading.Channels.ChannelClosedException)
            {
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
