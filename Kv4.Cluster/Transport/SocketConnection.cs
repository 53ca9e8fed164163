using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Kv4.Cluster.Transport;

/// <summary>
/// An authenticated TCP connection of the cluster port as ASP.NET's connection abstraction, which DotNext's Raft
/// transport and the node bus both read and write through pipes. Closing it (either end, or <see cref="Abort()"/>)
/// fires <see cref="ConnectionClosed"/>.
/// </summary>
internal sealed class SocketConnection : ConnectionContext
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;

    public SocketConnection(Socket socket, NetworkStream stream, string peer)
    {
        _socket = socket;
        _stream = stream;
        Peer = peer;
        Transport = new Duplex(PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;
    }

    /// <summary>The node name the other end proved in the handshake.</summary>
    public string Peer { get; }

    public override string ConnectionId { get; set; } = Guid.NewGuid().ToString("N");

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public override void Abort(ConnectionAbortedException abortReason) => Close();

    public override void Abort() => Close();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            await Transport.Output.CompleteAsync().ConfigureAwait(false);
            await Transport.Input.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The other end is gone already.
        }
        Close();
    }

    private void Close()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _stream.Dispose();
        _socket.Dispose();
        try { _closed.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>Dials <paramref name="endpoint"/>'s cluster port and proves the key: the connection, ready for <paramref name="kind"/>.</summary>
    public static async Task<SocketConnection> ConnectAsync(EndPoint endpoint, ClusterKey key, ChannelKind kind, string self,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            var stream = new NetworkStream(socket, ownsSocket: false);
            var peer = await Handshake.ClientAsync(stream, key, kind, self, deadline.Token).ConfigureAwait(false);
            return new SocketConnection(socket, stream, peer);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
