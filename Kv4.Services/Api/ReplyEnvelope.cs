using System.Buffers;
using System.Text.Json;

namespace Kv4.Services.Api;

/// <summary>
/// The one writer of the reply envelope: `{"s":"ok","v":...}` or `{"s":"error","v":"&lt;code&gt;"}`.
/// Stored JSON is copied through as bytes; an object value gets `"_ver_"` spliced in after its opening brace.
/// A streamed reply that stops before the end of its listing adds the cursor of the next page beside `v`:
/// `{"s":"ok","v":["a","b"],"next":"YmLx..."}`.
/// </summary>
public static class ReplyEnvelope
{
    // Relaxed escaping keeps non-ASCII text readable; the replies are served as application/json, never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static ReadOnlySpan<byte> OkOpen => "{\"s\":\"ok\",\"v\":"u8;
    private static ReadOnlySpan<byte> OkEmpty => "{\"s\":\"ok\"}"u8;
    private static ReadOnlySpan<byte> ErrorOpen => "{\"s\":\"error\",\"v\":\""u8;
    private static ReadOnlySpan<byte> VersionOpen => "{\"_ver_\":\""u8;

    public static void Write(IBufferWriter<byte> output, in ApiReply reply)
    {
        if (reply.IsOk && reply.Kind == ReplyValueKind.Streamed)
            throw new InvalidOperationException("a streamed reply is written with WriteStreamedAsync");
        if (reply.IsOk && reply.Kind == ReplyValueKind.Binary)
            throw new InvalidOperationException("a binary reply has no envelope: the host writes its body");
        if (reply.Error is { } error)
        {
            Append(output, ErrorOpen);
            Append(output, System.Text.Encoding.UTF8.GetBytes(ErrorCodes.Wire(error)));
            Append(output, "\"}"u8);
            return;
        }
        if (reply.Kind == ReplyValueKind.None)
        {
            Append(output, OkEmpty);
            return;
        }
        Append(output, OkOpen);
        WriteValue(output, reply);
        Append(output, "}"u8);
    }

    /// <summary>Any reply into memory, a streamed one included (for in-process callers).</summary>
    public static async ValueTask WriteAsync(IBufferWriter<byte> output, ApiReply reply, long budget = ReplyStream.DefaultBudget,
        CancellationToken cancellationToken = default)
    {
        if (reply.IsOk && reply.Kind == ReplyValueKind.Streamed)
            await WriteStreamedAsync(new BufferReplyStream(output, budget), reply, cancellationToken).ConfigureAwait(false);
        else
            Write(output, reply);
    }

    /// <summary>The envelope of a streamed reply, its value written as the service reads it.</summary>
    public static async ValueTask WriteStreamedAsync(ReplyStream output, ApiReply reply, CancellationToken cancellationToken)
    {
        if (reply.Kind != ReplyValueKind.Streamed || !reply.IsOk) throw new ArgumentException("not a streamed reply", nameof(reply));
        string? next;
        await using (((StreamedValue)reply.Payload!).ConfigureAwait(false))
        {
            output.Write(OkOpen);
            next = await ((StreamedValue)reply.Payload!).WriteAsync(output, cancellationToken).ConfigureAwait(false);
        }
        if (next is not null)
        {
            // Cursors are base64url: nothing in them needs escaping.
            output.Write(",\"next\":\""u8);
            output.Write(System.Text.Encoding.ASCII.GetBytes(next));
            output.Write("\""u8);
        }
        output.Write("}"u8);
    }

    /// <summary>Writes just the value of a successful reply (used by the envelope and by streams that carry values).</summary>
    public static void WriteValue(IBufferWriter<byte> output, in ApiReply reply)
    {
        switch (reply.Kind)
        {
            case ReplyValueKind.RawJson:
                Append(output, reply.Json.Span);
                break;
            case ReplyValueKind.StoredJson:
                WriteStored(output, reply.Json.Span, reply.Version);
                break;
            case ReplyValueKind.Number:
            {
                var span = output.GetSpan(20);
                System.Buffers.Text.Utf8Formatter.TryFormat(reply.Number, span, out var written);
                output.Advance(written);
                break;
            }
            default:
            {
                using var writer = new Utf8JsonWriter(output, WriterOptions);
                switch (reply.Kind)
                {
                    case ReplyValueKind.String:
                        writer.WriteStringValue((string)reply.Payload!);
                        break;
                    case ReplyValueKind.Strings:
                        writer.WriteStartArray();
                        foreach (var item in (IReadOnlyList<string>)reply.Payload!) writer.WriteStringValue(item);
                        writer.WriteEndArray();
                        break;
                    case ReplyValueKind.Writer:
                        ((Action<Utf8JsonWriter>)reply.Payload!)(writer);
                        break;
                }
                writer.Flush();
                break;
            }
        }
    }

    /// <summary>A stored value as clients see it: objects carry their `_ver_`, other kinds are written as stored.</summary>
    public static void WriteStored(IBufferWriter<byte> output, ReadOnlySpan<byte> json, Kv4.Engine.Model.VersionId version)
    {
        if (json.Length < 2 || json[0] != (byte)'{' || version.IsNone)
        {
            Append(output, json);
            return;
        }
        Append(output, VersionOpen);
        var span = output.GetSpan(20);
        version.TryFormat(span, out var written);
        output.Advance(written);
        Append(output, json[1] == (byte)'}' ? "\""u8 : "\","u8);
        Append(output, json[1..]);
    }

    private static void Append(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }
}
