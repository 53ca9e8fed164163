using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading.Channels;
using Kv4.Cluster.Transport;
using MessagePack;

namespace Kv4.Cluster.Bus;

/// <summary>
/// One authenticated bus connection, framed:
/// <code>
///   [ length : 4 bytes LE, of what follows ][ kind : 1 ][ id : 8 LE ][ payload : MessagePack BusMessage ]
/// </code>
/// Frames to send wait in a bounded queue that one loop writes out, flushing when the queue runs dry (so a burst
/// goes out in few writes); a full queue makes senders wait, which is the connection's back-pressure. One loop reads
/// and hands each frame to <paramref name="onFrame"/>, which must not block (it starts work and returns).
/// A frame longer than <see cref="MaxFrameBytes"/> ends the connection.
/// </summary>
internal sealed class FrameConnection : IAsyncDisposable
{
    public const int MaxFrameBytes = 64 << 20;
    private const int HeaderBytes = 4 + 1 + 8;
    private const int QueueCapacity = 4096;

    private readonly SocketConnection _connection;
    private readonly Channel<(FrameKind Kind, long Id, byte[] Payload, int Length)> _outbox =
        Channel.CreateBounded<(FrameKind, long, byte[], int)>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });
    private readonly Action<FrameConnection, FrameKind, long, ReadOnlySequence<byte>> _onFrame;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Nothing is read or written until <see cref="Start"/>: the owner keeps the connection first, so a frame never finds it unknown.</summary>
    public FrameConnection(SocketConnection connection, Action<FrameConnection, FrameKind, long, ReadOnlySequence<byte>> onFrame)
    {
        _connection = connection;
        _onFrame = onFrame;
        Closed = _started.Task.ContinueWith(_ => Task.WhenAll(
                ReadLoopAsync().ContinueWith(_ => { }, TaskScheduler.Default),
                WriteLoopAsync().ContinueWith(_ => { }, TaskScheduler.Default)), TaskScheduler.Default).Unwrap();
    }

    public FrameConnection Start()
    {
        _started.TrySetResult();
        return this;
    }

    public string Peer => _connection.Peer;

    /// <summary>Completes when the connection is gone (either loop ended).</summary>
    public Task Closed { get; }

    public bool IsOpen => !_closing.IsCancellationRequested;

    public async ValueTask SendAsync(FrameKind kind, long id, BusMessage message, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        MessagePackSerializer.Serialize(buffer, message, BusSerializer.Options, cancellationToken);
        if (buffer.WrittenCount > MaxFrameBytes - HeaderBytes) throw new InvalidOperationException($"a bus message of {buffer.WrittenCount} bytes");
        var payload = ArrayPool<byte>.Shared.Rent(buffer.WrittenCount);
        buffer.WrittenSpan.CopyTo(payload);
        try
        {
            await _outbox.Writer.WriteAsync((kind, id, payload, buffer.WrittenCount), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(payload);
            throw;
        }
    }

    private async Task WriteLoopAsync()
    {
        var output = _connection.Transport.Output;
        try
        {
            while (await _outbox.Reader.WaitToReadAsync(_closing.Token).ConfigureAwait(false))
            {
                while (_outbox.Reader.TryRead(out var frame))
                {
                    var span = output.GetSpan(HeaderBytes + frame.Length);
                    BinaryPrimitives.WriteInt32LittleEndian(span, 1 + 8 + frame.Length);
                    span[4] = (byte)frame.Kind;
                    BinaryPrimitives.WriteInt64LittleEndian(span[5..], frame.Id);
                    frame.Payload.AsSpan(0, frame.Length).CopyTo(span[HeaderBytes..]);
                    output.Advance(HeaderBytes + frame.Length);
                    ArrayPool<byte>.Shared.Return(frame.Payload);
                    if (output.UnflushedBytes > 1 << 16)
                    {
                        var flushed = await output.FlushAsync(_closing.Token).ConfigureAwait(false);
                        if (flushed.IsCompleted) return;
                    }
                }
                var result = await output.FlushAsync(_closing.Token).ConfigureAwait(false);
                if (result.IsCompleted) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException
            or System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
        }
        finally
        {
            Shut();
        }
    }

    private async Task ReadLoopAsync()
    {
        var input = _connection.Transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(_closing.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (TryTakeFrame(ref buffer, out var kind, out var id, out var payload))
                    _onFrame(this, kind, id, payload);
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException
            or InvalidDataException or System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
        }
        finally
        {
            Shut();
        }
    }

    private static bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out FrameKind kind, out long id, out ReadOnlySequence<byte> payload)
    {
        kind = default;
        id = 0;
        payload = default;
        if (buffer.Length < 4) return false;
        Span<byte> lengthBytes = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(lengthBytes);
        var length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (length < 9 || length > MaxFrameBytes) throw new InvalidDataException($"a bus frame of {length} bytes");
        if (buffer.Length < 4 + length) return false;
        Span<byte> head = stackalloc byte[9];
        buffer.Slice(4, 9).CopyTo(head);
        kind = (FrameKind)head[0];
        id = BinaryPrimitives.ReadInt64LittleEndian(head[1..]);
        payload = buffer.Slice(HeaderBytes, length - 9);
        buffer = buffer.Slice(4 + length);
        return true;
    }

    private void Shut()
    {
        if (_closing.IsCancellationRequested) return;
        try { _closing.Cancel(); }
        catch (ObjectDisposedException) { }
        _outbox.Writer.TryComplete();
        _connection.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        Shut();
        _started.TrySetResult();
        await Closed.ConfigureAwait(false);
        while (_outbox.Reader.TryRead(out var frame)) ArrayPool<byte>.Shared.Return(frame.Payload);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
