using System.Buffers;
using System.Text.Json;
using Kv4.Engine.Model;

namespace Kv4.Services.Watch;

/// <summary>
/// One change as the watch streams send it (http-api.md §7 Watch):
/// <code>
/// {"seq":"AUADAAURAAE","op":"put","l":"data","path":"a/b","k":"x","v":{"n":1},"_ver_":"2886218022913","t":1763900000123,"by":"elena"}
/// {"seq":"AUADAAURAAI","op":"delete","l":"data","path":"a/b","k":"x","v":null,"_ver_":"2886218022914","t":1763900000456,"by":"elena"}
/// </code>
/// `seq` is the opaque cursor to resume from after this change (`since`, see <see cref="FeedCursor"/>), `t` unix
/// milliseconds, `by` the actor.
/// A dropped bucket (its account deleted) is `"op":"drop_bucket"` with empty l, path and k.
/// </summary>
public static class ChangeEventJson
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <param name="cursor">The feed cursor just after <paramref name="change"/>, in its text form.</param>
    public static void Write(IBufferWriter<byte> output, ChangeEvent change, string cursor)
    {
        using var writer = new Utf8JsonWriter(output, Options);
        writer.WriteStartObject();
        writer.WriteString("seq", cursor);
        writer.WriteString("op", change.Op switch
        {
            Operation.Put => "put",
            Operation.Delete => "delete",
            Operation.DropBucket or Operation.DropBucketPart => "drop_bucket",
            _ => "unknown",
        });
        writer.WriteString("l", change.Layer);
        writer.WriteString("path", change.Path);
        writer.WriteString("k", change.Key);
        writer.WritePropertyName("v");
        if (change.Value is { } value) writer.WriteRawValue(value.Span, skipInputValidation: true);
        else writer.WriteNullValue();
        writer.WriteString("_ver_", change.Version.ToString());
        writer.WriteNumber("t", change.TimestampMs);
        writer.WriteString("by", change.Actor);
        writer.WriteEndObject();
    }

    public static byte[] ToBytes(ChangeEvent change, string cursor)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + (change.Value?.Length ?? 0));
        Write(buffer, change, cursor);
        return buffer.WrittenSpan.ToArray();
    }
}
