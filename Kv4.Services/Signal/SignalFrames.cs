using System.Buffers;
using System.Text.Json;
using Kv4.Services.Tokens;

namespace Kv4.Services.Signal;

/// <summary>
/// The server's frames of the signal protocol (http-api.md §6 Signal WebSocket), written once and shared by every recipient:
/// <code>
/// {"m":{"o":"peers","f":"/room/__sys__"},"p":{"users":["alice","bob"]}}
/// {"m":{"o":"peer_connected","f":"/room/bob"}}
/// {"m":{"o":"peer_removed","f":"/room/bob"}}
/// {"t":"u","m":{"f":"/room/alice","o":"message","t":"bob"},"p":{"msg":"hi"}}
/// {"m":{"o":"error","f":"/room/__sys__"},"p":{"error":"bad_json"}}
/// </code>
/// Every frame carries "m" with "o" and "f", because the Xirsys browser client reads `m.o` of each one.
/// </summary>
public static class SignalFrames
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    public static ReadOnlyMemory<byte> Peers(string channel, IReadOnlyCollection<string> users) => Write(writer =>
    {
        WriteMeta(writer, "peers", SignalAddress.Of(channel, SignalUsers.System));
        writer.WriteStartObject("p");
        writer.WriteStartArray("users");
        foreach (var user in users) writer.WriteStringValue(user);
        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    public static ReadOnlyMemory<byte> PeerConnected(string address) => Write(writer => WriteMeta(writer, "peer_connected", address));

    public static ReadOnlyMemory<byte> PeerRemoved(string address) => Write(writer => WriteMeta(writer, "peer_removed", address));

    /// <summary>An error for the sender only; the connection stays open.</summary>
    public static ReadOnlyMemory<byte> Error(string channel, string code, string? detail = null) => Write(writer =>
    {
        WriteMeta(writer, "error", SignalAddress.Of(channel, SignalUsers.System));
        writer.WriteStartObject("p");
        writer.WriteString("error", code);
        if (detail is not null) writer.WriteString("detail", detail);
        writer.WriteEndObject();
    });

    /// <summary>A relayed user message: `m.f` is the sender's address whatever the client wrote; `p` is copied as sent.</summary>
    public static ReadOnlyMemory<byte> Message(string from, string op, string? to, ReadOnlySpan<byte> payloadJson)
    {
        var buffer = new ArrayBufferWriter<byte>(payloadJson.Length + 96);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("t", "u");
            writer.WriteStartObject("m");
            writer.WriteString("f", from);
            writer.WriteString("o", op);
            if (to is not null) writer.WriteString("t", to);
            writer.WriteEndObject();
            if (!payloadJson.IsEmpty)
            {
                writer.WritePropertyName("p");
                writer.WriteRawValue(payloadJson, skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }

    private static void WriteMeta(Utf8JsonWriter writer, string op, string from)
    {
        writer.WriteStartObject("m");
        writer.WriteString("o", op);
        writer.WriteString("f", from);
        writer.WriteEndObject();
    }

    private static ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }
}
