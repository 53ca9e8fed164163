using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using Kv4.Cluster.Transport;
using MessagePack;

namespace Kv4.Cluster.Bus;

/// <summary>
/// This node's connection to one other node, for the calls it makes there (the other node's calls come in on a
/// connection of its own). Dialled on first use and again after a loss, no more often than every
/// <see cref="RedialAfter"/>: calls in between fail at once instead of piling up on a node that is down. Calls are
/// matched to answers by id, so any number can be in flight on the one connection.
/// </summary>
internal sealed class NodeLink(string peer, Func<EndPoint?> endpoint, ClusterKey key, string self, TimeSpan connectTimeout,
    Microsoft.Extensions.Logging.ILogger? logger = null) : IAsyncDisposable
{
    private static readonly TimeSpan RedialAfter = TimeSpan.FromMilliseconds(200);

    // Each call in flight, with the connection it went out on (a lost connection fails only its own calls).
    private readonly ConcurrentDictionary<long, (FrameConnection? Connection, TaskCompletionSource<BusMessage> Answer)> _pending = new();
    private readonly SemaphoreSlim _dialing = new(1, 1);
    private FrameConnection? _connection;
    private long _nextId;
    private long _lastFailureTicks;
    private bool _disposed;

    public string Peer { get; } = peer;

    public bool Connected => _connection is { IsOpen: true };

    public async Task<BusMessage> CallAsync(BusMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<BusMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var connection = await ConnectedAsync(deadline.Token).ConfigureAwait(false);
            _pending[id] = (connection, answer);
            if (!connection.IsOpen) throw new BusCallException(BusFault.Unavailable, $"the connection to {Peer} was lost", sent: false);
            await connection.SendAsync(FrameKind.Request, id, request, deadline.Token).ConfigureAwait(false);
            return await answer.Task.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BusCallException(BusFault.Unavailable, $"{Peer} did not answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception e) when (e is System.Threading.Channels.ChannelClosedException or ObjectDisposedException or IOException)
        {
            throw new BusCallException(BusFault.Unavailable, $"the connection to {Peer} was lost", e);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Best effort: dropped when the node cannot be reached.</summary>
    public async Task PostAsync(BusMessage notice, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await ConnectedAsync(cancellationToken).ConfigureAwait(false);
            await connection.SendAsync(FrameKind.Notice, 0, notice, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BusCallException or OperationCanceledException or ObjectDisposedException or System.Threading.Channels.ChannelClosedException)
        {
        }
    }

    private async Task<FrameConnection> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true } open) return open;
        await _dialing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is { IsOpen: true } already) return already;
            if (Interlocked.Read(ref _lastFailureTicks) is var failedAt and > 0 && Environment.TickCount64 - failedAt < RedialAfter.TotalMilliseconds)
                throw new BusCallException(BusFault.Unavailable, $"{Peer} could not be reached a moment ago", sent: false);
            if (endpoint() is not { } target) throw new BusCallException(BusFault.Unavailable, $"no cluster endpoint is known for {Peer}", sent: false);
            try
            {
                if (logger is not null) Microsoft.Extensions.Logging.LoggerExtensions.LogTrace(logger, "bus: dialling {Peer} at {Endpoint}", Peer, target);
                var socket = await SocketConnection.ConnectAsync(target, key, ChannelKind.Bus, self, connectTimeout, cancellationToken).ConfigureAwait(false);
                if (logger is not null) Microsoft.Extensions.Logging.LoggerExtensions.LogTrace(logger, "bus: connected to {Peer}", Peer);
                var connection = new FrameConnection(socket, OnFrame);
                _connection = connection;
                connection.Start();
                _ = connection.Closed.ContinueWith(_ => FailPending(connection), TaskScheduler.Default);
                return connection;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Exchange(ref _lastFailureTicks, Environment.TickCount64);
                throw new BusCallException(BusFault.Unavailable, $"{Peer} could not be reached: {e.Message}", e, sent: false);
            }
        }
        finally
        {
            _dialing.Release();
        }
    }

    private void OnFrame(FrameConnection connection, FrameKind kind, long id, ReadOnlySequence<byte> payload)
    {
        if (kind is not (FrameKind.Reply or FrameKind.Failure) || !_pending.TryRemove(id, out var pending)) return;
        var answer = pending.Answer;
        try
        {
            var message = MessagePackSerializer.Deserialize<BusMessage>(payload, BusSerializer.Options);
            if (kind == FrameKind.Failure || message is BusFault)
                answer.TrySetException(new BusCallException(message as BusFault ?? new BusFault { Message = "a failure without a fault" }));
            else answer.TrySetResult(message);
        }
        catch (MessagePackSerializationException e)
        {
            answer.TrySetException(new BusCallException(BusFault.Internal, $"an answer from {Peer} that is not a bus message", e));
        }
    }

    private void FailPending(FrameConnection lost)
    {
        Interlocked.CompareExchange(ref _connection, null, lost);
        Interlocked.Exchange(ref _lastFailureTicks, Environment.TickCount64);
        foreach (var (id, pending) in _pending)
            if (pending.Connection == lost && _pending.TryRemove(id, out _))
                pending.Answer.TrySetException(new BusCallException(BusFault.Unavailable, $"the connection to {Peer} was lost"));
    }

    public async ValueTask DisposeAsync()
    {
        await _dialing.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_connection is { } connection) await connection.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _dialing.Release();
        }
    }
}
