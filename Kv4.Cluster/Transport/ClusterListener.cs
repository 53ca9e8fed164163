using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Transport;

/// <summary>
/// The cluster port: one TCP listener for everything nodes say to each other. Each connection must pass the
/// <see cref="Handshake"/> within <see cref="HandshakeTimeout"/>; then it goes to the Raft transport or to the node
/// bus by the kind it named. A connection that fails the handshake is closed having been told nothing.
/// </summary>
internal sealed class ClusterListener : IAsyncDisposable
{
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly ClusterKey _key;
    private readonly string _self;
    private readonly Func<SocketConnection, Task> _onBus;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private long _refused;

    public ClusterListener(EndPoint endpoint, ClusterKey key, string self, Func<SocketConnection, Task> onBus, ILogger logger)
    {
        _key = key;
        _self = self;
        _onBus = onBus;
        _logger = logger;
        var bindTo = endpoint is DnsEndPoint dns ? new IPEndPoint(IPAddress.Any, dns.Port) : endpoint;
        _listener = new Socket(bindTo.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : bindTo.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(bindTo);
        _listener.Listen(512);
        _accepting = AcceptLoopAsync();
    }

    /// <summary>Authenticated Raft connections, for DotNext's listener.</summary>
    public Channel<SocketConnection> RaftConnections { get; } = Channel.CreateUnbounded<SocketConnection>();

    /// <summary>Connections closed because they did not pass the handshake.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                continue;
            }
            _ = AdmitAsync(socket);
        }
    }

    private async Task AdmitAsync(Socket socket)
    {
        socket.NoDelay = true;
        var stream = new NetworkStream(socket, ownsSocket: false);
        SocketConnection connection;
        ChannelKind kind;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            deadline.CancelAfter(HandshakeTimeout);
            (kind, var client) = await Handshake.ServerAsync(stream, _key, _self, deadline.Token).ConfigureAwait(false);
            connection = new SocketConnection(socket, stream, client);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _refused);
            _logger.LogWarning("cluster port: refused a connection from {Remote}: {Reason}", socket.RemoteEndPoint, e.Message);
            stream.Dispose();
            socket.Dispose();
            return;
        }
        if (kind == ChannelKind.Raft)
        {
            if (!RaftConnections.Writer.TryWrite(connection)) await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }
        try
        {
            await _onBus(connection).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "cluster port: a bus connection from {Peer} failed", connection.Peer);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Dispose();
        RaftConnections.Writer.TryComplete();
        try { await _accepting.ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { }
        while (RaftConnections.Reader.TryRead(out var pending)) await pending.DisposeAsync().ConfigureAwait(false);
    }
}
