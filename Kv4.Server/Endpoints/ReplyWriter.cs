using System.Buffers;
using Kv4.Server.Configuration;
using Kv4.Services.Api;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Endpoints;

/// <summary>
/// Puts an <see cref="ApiReply"/> on the wire: the HTTP status from <see cref="ErrorCodes"/> (or 200 for every
/// error with Kv4:Api:ErrorsAsOk), and the envelope written by <see cref="ReplyEnvelope"/>. Every reply of the API,
/// the 401 challenge and the 429 rejection included, goes through here.
/// The envelope is first written into a per-thread reused buffer, so the reply can carry a Content-Length
/// (Kestrel would otherwise chunk it), then copied once into the response's PipeWriter: no string, no
/// re-serialization of stored JSON, and no allocation on the hot GET.
/// A streamed reply (listings, histories) is the exception: past its first 64 KiB it goes out chunked as the
/// service writes it, within Kv4:Api:MaxReplyBytes, so its size never has to fit in memory.
/// </summary>
public sealed class ReplyWriter(IOptions<Kv4Options> options)
{
    /// <summary>A thread's buffer is kept for the next reply only up to this size, so one huge reply does not pin memory.</summary>
    private const int MaxRetainedBytes = 256 * 1024;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    private readonly bool _errorsAsOk = options.Value.Api.ErrorsAsOk;
    private readonly long _maxReplyBytes = options.Value.Api.MaxReplyBytes;

    public int StatusOf(in ApiReply reply) => reply.Error is { } error && !_errorsAsOk ? ErrorCodes.HttpStatus(error) : StatusCodes.Status200OK;

    public ValueTask WriteAsync(HttpResponse response, in ApiReply reply)
    {
        if (reply.IsOk && reply.Kind == ReplyValueKind.Streamed) return WriteStreamedAsync(response, reply);
        if (reply.IsOk && reply.Kind == ReplyValueKind.Binary) return WriteBinaryAsync(response, reply);
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(4096);
        t_buffer = null;
        try
        {
            ReplyEnvelope.Write(buffer, reply);
            response.StatusCode = StatusOf(reply);
            response.ContentType = "application/json";
            response.ContentLength = buffer.WrittenCount;
            var output = response.BodyWriter;
            buffer.WrittenSpan.CopyTo(output.GetSpan(buffer.WrittenCount));
            output.Advance(buffer.WrittenCount);
        }
        finally
        {
            if (buffer.Capacity <= MaxRetainedBytes)
            {
                buffer.ResetWrittenCount();
                t_buffer = buffer;
            }
        }
        var flush = response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted);
        return flush.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitFlush(flush);
    }

    private static async ValueTask WriteBinaryAsync(HttpResponse response, ApiReply reply)
    {
        var value = reply.Binary!;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = value.MediaType;
        await value.WriteAsync(response.Body, response.HttpContext.RequestAborted);
    }

    private async ValueTask WriteStreamedAsync(HttpResponse response, ApiReply reply)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        var output = new HttpReplyStream(response, _maxReplyBytes);
        await ReplyEnvelope.WriteStreamedAsync(output, reply, response.HttpContext.RequestAborted);
        await output.CompleteAsync(response.HttpContext.RequestAborted);
    }

    /// <summary>
    /// Gathers a streamed reply in memory until its first flush: a reply that ends before (most listings, short
    /// histories) goes out in one write with a Content-Length, like every other reply, and a failure before it
    /// is still answered with a clean error envelope. A longer one goes out chunked from then on; a failure
    /// after that aborts the response (see ApiEndpoint), so a half-written value is never taken for a whole one.
    /// </summary>
    private sealed class HttpReplyStream(HttpResponse response, long budget) : ReplyStream(budget)
    {
        private ArrayBufferWriter<byte>? _pending = new(4096);

        protected override IBufferWriter<byte> Output => (IBufferWriter<byte>?)_pending ?? response.BodyWriter;

        protected override async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            SendPending(withLength: false);
            await response.BodyWriter.FlushAsync(cancellationToken);
        }

        public async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            SendPending(withLength: true);
            await response.BodyWriter.FlushAsync(cancellationToken);
        }

        private void SendPending(bool withLength)
        {
            if (_pending is not { } pending) return;
            _pending = null;
            if (withLength) response.ContentLength = pending.WrittenCount;
            var bytes = pending.WrittenSpan;
            while (!bytes.IsEmpty)
            {
                var span = response.BodyWriter.GetSpan(Math.Min(bytes.Length, 16 * 1024));
                var n = Math.Min(span.Length, bytes.Length);
                bytes[..n].CopyTo(span);
                response.BodyWriter.Advance(n);
                bytes = bytes[n..];
            }
        }
    }

    public ValueTask WriteErrorAsync(HttpResponse response, ErrorCode code) => WriteAsync(response, ApiReply.Fail(code));

    private static async ValueTask AwaitFlush(ValueTask<System.IO.Pipelines.FlushResult> flush)
    {
        try { await flush; }
        catch (OperationCanceledException) { }
    }
}
