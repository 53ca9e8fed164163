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
/// A streamed reply (listings, histories) is the exception: it goes out chunked as the service writes it, within
/// Kv4:Api:MaxReplyBytes, so its size never has to fit in memory.
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

    private async ValueTask WriteStreamedAsync(HttpResponse response, ApiReply reply)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        // Started at once: a failure halfway (a damaged log record) then aborts the response instead of
        // appending an error envelope to a half-written value.
        try
        {
            await response.StartAsync(response.HttpContext.RequestAborted);
        }
        catch
        {
            await reply.DiscardAsync();
            throw;
        }
        var output = new PipeReplyStream(response.BodyWriter, _maxReplyBytes);
        await ReplyEnvelope.WriteStreamedAsync(output, reply, response.HttpContext.RequestAborted);
        await response.BodyWriter.FlushAsync(response.HttpContext.RequestAborted);
    }

    private sealed class PipeReplyStream(System.IO.Pipelines.PipeWriter pipe, long budget) : ReplyStream(budget)
    {
        protected override IBufferWriter<byte> Output => pipe;

        protected override async ValueTask FlushAsync(CancellationToken cancellationToken) =>
            await pipe.FlushAsync(cancellationToken);
    }

    public ValueTask WriteErrorAsync(HttpResponse response, ErrorCode code) => WriteAsync(response, ApiReply.Fail(code));

    private static async ValueTask AwaitFlush(ValueTask<System.IO.Pipelines.FlushResult> flush)
    {
        try { await flush; }
        catch (OperationCanceledException) { }
    }
}
