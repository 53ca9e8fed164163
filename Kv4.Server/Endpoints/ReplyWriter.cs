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
/// </summary>
public sealed class ReplyWriter(IOptions<Kv4Options> options)
{
    /// <summary>A thread's buffer is kept for the next reply only up to this size, so one huge reply does not pin memory.</summary>
    private const int MaxRetainedBytes = 256 * 1024;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;

    private readonly bool _errorsAsOk = options.Value.Api.ErrorsAsOk;

    public int StatusOf(in ApiReply reply) => reply.Error is { } error && !_errorsAsOk ? ErrorCodes.HttpStatus(error) : StatusCodes.Status200OK;

    public ValueTask WriteAsync(HttpResponse response, in ApiReply reply)
    {
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

    public ValueTask WriteErrorAsync(HttpResponse response, ErrorCode code) => WriteAsync(response, ApiReply.Fail(code));

    private static async ValueTask AwaitFlush(ValueTask<System.IO.Pipelines.FlushResult> flush)
    {
        try { await flush; }
        catch (OperationCanceledException) { }
    }
}
