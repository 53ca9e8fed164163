using System.Threading.Channels;

namespace Kv4.Services.Signal;

/// <summary>
/// One member of a channel: who it is and the bounded queue of frames waiting to be sent to it.
/// The hub only ever does a non-blocking <see cref="TryEnqueue"/>, so one slow reader never stalls a broadcast;
/// when the queue is full the connection is closed (<see cref="SignalCloseReason.SlowConsumer"/>).
/// The host drains <see cref="Outgoing"/> onto the socket and ends its loops when <see cref="Closing"/> fires.
/// </summary>
public sealed class SignalConnection
{
    private readonly Channel<ReadOnlyMemory<byte>> _outbox;
    private readonly CancellationTokenSource _closing = new();
    private int _closeReason = -1;

    internal SignalConnection(long id, string bucket, string channel, string user, string actor, int queueFrames)
    {
        Id = id;
        Bucket = bucket;
        Channel = channel;
        User = user;
        Actor = actor;
        Address = SignalAddress.Of(channel, user);
        ConnectedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _outbox = System.Threading.Channels.Channel.CreateBounded<ReadOnlyMemory<byte>>(
            new BoundedChannelOptions(queueFrames) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Unique on this node for its lifetime; tells a replaced connection from its successor.</summary>
    public long Id { get; }

    public string Bucket { get; }

    public string Channel { get; }

    public string User { get; }

    /// <summary>The login that issued its token; stamped on its presence entry.</summary>
    public string Actor { get; }

    /// <summary>Its `m.f`: "/&lt;channel&gt;/&lt;user&gt;".</summary>
    public string Address { get; }

    public long ConnectedAtMs { get; }

    public ChannelReader<ReadOnlyMemory<byte>> Outgoing => _outbox.Reader;

    /// <summary>Fires once when the server decides to end the connection.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Null while open.</summary>
    public SignalCloseReason? CloseReason => _closeReason < 0 ? null : (SignalCloseReason)_closeReason;

    /// <summary>Queues a frame without waiting. False (and the connection is closed) when its queue is full.</summary>
    internal bool TryEnqueue(ReadOnlyMemory<byte> frame)
    {
        if (_outbox.Writer.TryWrite(frame)) return true;
        Close(SignalCloseReason.SlowConsumer);
        return false;
    }

    /// <summary>Ends the connection; the first reason wins. Frames already queued are dropped by the host.</summary>
    public void Close(SignalCloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, -1) != -1) return;
        _outbox.Writer.TryComplete();
        try { _closing.Cancel(); } catch (ObjectDisposedException) { }
    }
}
