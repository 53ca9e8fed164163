using System.Buffers;

namespace Kv4.Services.Api;

/// <summary>
/// Where a streamed reply (<see cref="ApiReply.OkStream"/>) writes its value: the response body, sent on as it
/// grows, with a byte budget the writer checks before each element so one reply never carries more than about
/// <see cref="Budget"/> bytes. Example: with a budget of 3 MiB, a history of 1 MiB versions is cut after the
/// second one (the third would pass the budget) and the reply offers a cursor for the rest.
/// </summary>
public abstract class ReplyStream(long budget)
{
    /// <summary>What a reply may carry unless the host configures otherwise (Kv4:Api:MaxReplyBytes).</summary>
    public const long DefaultBudget = 4L << 20;

    // Sent on once this much is waiting, so a long reply holds a bounded part of itself in memory.
    private const int FlushEveryBytes = 64 * 1024;
    // Copied in pieces: one large GetSpan would make the output allocate a buffer as large as the value.
    private const int CopyPieceBytes = 16 * 1024;

    private long _unflushed;

    public long Budget { get; } = budget > 0 ? budget : throw new ArgumentOutOfRangeException(nameof(budget));

    /// <summary>Bytes written so far, the envelope's included.</summary>
    public long Written { get; private set; }

    /// <summary>Whether <paramref name="bytes"/> more stay within the budget.</summary>
    public bool Fits(long bytes) => Written + bytes <= Budget;

    protected abstract IBufferWriter<byte> Output { get; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Written += bytes.Length;
        _unflushed += bytes.Length;
        while (!bytes.IsEmpty)
        {
            var span = Output.GetSpan(Math.Min(bytes.Length, CopyPieceBytes));
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            Output.Advance(n);
            bytes = bytes[n..];
        }
    }

    /// <summary>Sends what is waiting once enough has gathered.</summary>
    public ValueTask FlushIfFullAsync(CancellationToken cancellationToken)
    {
        if (_unflushed < FlushEveryBytes) return ValueTask.CompletedTask;
        _unflushed = 0;
        return FlushAsync(cancellationToken);
    }

    protected abstract ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>A reply stream into memory (in-process callers and tests): nothing to send on.</summary>
public sealed class BufferReplyStream(IBufferWriter<byte> output, long budget = ReplyStream.DefaultBudget) : ReplyStream(budget)
{
    protected override IBufferWriter<byte> Output => output;

    protected override ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
