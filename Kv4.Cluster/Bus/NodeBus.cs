using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using Kv4.Cluster.Transport;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Bus;

/// <summary>
/// Node-to-node messaging over the cluster port. Each node dials one connection to each other node for the calls it
/// makes (<see cref="NodeLink"/>) and answers the calls that arrive on the connections others dialled. Every frame
/// queue is bounded per connection, so a slow node slows only what is sent to it. Calls answer or fail within their
/// timeout; a <see cref="BusCallException"/> says which (and whether the other node may have run the call).
/// </summary>
internal sealed class NodeBus(ClusterKey key, string self, Func<string, EndPoint?> endpointOf, TimeSpan connectTimeout, ILogger logger)
    : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, NodeLink> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<FrameConnection, byte> _inbound = new();
    private readonly CancellationTokenSource _stopping = new();
    private IBusHandler? _handler;

    public string Self { get; } = self;

    public void Attach(IBusHandler handler) => _handler = handler;

    public async Task<TReply> CallAsync<TReply>(string peer, BusMessage request, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TReply : BusMessage
    {
        var reply = await Link(peer).CallAsync(request, timeout, cancellationToken).ConfigureAwait(false);
        return reply as TReply ?? throw new BusCallException(BusFault.Internal, $"{peer} answered {reply.GetType().Name} to {request.GetType().Name}");
    }

    /// <summary>A call to a node known only by its endpoint (a node joining asks a member it was given): one connection, closed after.</summary>
    public async Task<TReply> CallEndpointAsync<TReply>(EndPoint endpoint, BusMessage request, TimeSpan timeout, CancellationToken cancellationToken = default)
        where TReply : BusMessage
    {
        await using var link = new NodeLink(NodeEndpoints.Format(endpoint), () => endpoint, key, Self, connectTimeout);
        var reply = await link.CallAsync(request, timeout, cancellationToken).ConfigureAwait(false);
        return reply as TReply ?? throw new BusCallException(BusFault.Internal, $"{endpoint} answered {reply.GetType().Name}");
    }

    public Task PostAsync(string peer, BusMessage notice, CancellationToken cancellationToken = default) =>
        Link(peer).PostAsync(notice, cancellationToken);

    private NodeLink Link(string peer) =>
        _links.GetOrAdd(peer, name => new NodeLink(name, () => endpointOf(name), key, Self, connectTimeout, logger));

    /// <summary>The cluster port hands over a connection another node dialled for its calls.</summary>
    public Task AcceptAsync(SocketConnection connection)
    {
        var frames = new FrameConnection(connection, OnInbound);
        _inbound[frames] = 0;
        frames.Start();
        _ = frames.Closed.ContinueWith(async _ =>
        {
            _inbound.TryRemove(frames, out byte _);
            await frames.DisposeAsync().ConfigureAwait(false);
        }, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    private void OnInbound(FrameConnection connection, FrameKind kind, long id, ReadOnlySequence<byte> payload)
    {
        BusMessage message;
        try
        {
            message = MessagePackSerializer.Deserialize<BusMessage>(payload, BusSerializer.Options);
        }
        catch (MessagePackSerializationException e)
        {
            logger.LogWarning("bus: {Peer} sent a frame that is not a bus message: {Reason}", connection.Peer, e.Message);
            if (kind == FrameKind.Request) _ = AnswerAsync(connection, id, FrameKind.Failure, new BusFault { Code = BusFault.Internal, Message = "not a bus message" });
            return;
        }
        if (_handler is not { } handler)
        {
            if (kind == FrameKind.Request) _ = AnswerAsync(connection, id, FrameKind.Failure, new BusFault { Code = BusFault.NotReady, Message = "the node is starting" });
            return;
        }
        if (kind == FrameKind.Notice)
        {
            handler.Notice(connection.Peer, message);
            return;
        }
        if (kind == FrameKind.Request) _ = RespondAsync(handler, connection, id, message);
    }

    private async Task RespondAsync(IBusHandler handler, FrameConnection connection, long id, BusMessage request)
    {
        BusMessage reply;
        var kind = FrameKind.Reply;
        try
        {
            reply = await handler.HandleAsync(connection.Peer, request, _stopping.Token).ConfigureAwait(false);
        }
        catch (BusCallException e)
        {
            (reply, kind) = (e.Fault, FrameKind.Failure);
        }
        catch (Kv4.Engine.Rules.EngineException e)
        {
            (reply, kind) = (new BusFault { Code = e.Error.ToString(), Message = e.Message, EngineError = (int)e.Error }, FrameKind.Failure);
        }
        catch (OperationCanceledException)
        {
            (reply, kind) = (new BusFault { Code = BusFault.Unavailable, Message = "the node is stopping" }, FrameKind.Failure);
        }
        catch (Exception e)
        {
            logger.LogError(e, "bus: {Request} from {Peer} failed", request.GetType().Name, connection.Peer);
            (reply, kind) = (new BusFault { Code = BusFault.Internal, Message = e.GetType().Name }, FrameKind.Failure);
        }
        await AnswerAsync(connection, id, kind, reply).ConfigureAwait(false);
    }

    private async Task AnswerAsync(FrameConnection connection, long id, FrameKind kind, BusMessage reply)
    {
        try
        {
            await connection.SendAsync(kind, id, reply, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException or ObjectDisposedException)
        {
            // The caller is gone; it has failed the call on its side.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        foreach (var link in _links.Values) await link.DisposeAsync().ConfigureAwait(false);
        foreach (var connection in _inbound.Keys) await connection.DisposeAsync().ConfigureAwait(false);
    }
}
