using System.Text.Json;
using Kv4.Engine.Model;

namespace Kv4.Services.Api;

/// <summary>
/// What a service answers: an error code, or success with an optional value. The value is kept in the
/// cheapest form the service has (stored JSON bytes, a number, strings, or a writer callback) and is only
/// turned into bytes by <see cref="ReplyEnvelope"/>, so a stored value is never parsed and re-serialized.
/// A struct, so the hot GET allocates no reply object.
/// </summary>
public readonly struct ApiReply
{
    private ApiReply(ErrorCode? error, ReplyValueKind kind, ReadOnlyMemory<byte> json = default, VersionId version = default,
        long number = 0, object? payload = null)
    {
        Error = error;
        Kind = kind;
        Json = json;
        Version = version;
        Number = number;
        Payload = payload;
    }

    /// <summary>Null on success.</summary>
    public ErrorCode? Error { get; }

    public bool IsOk => Error is null;

    public ReplyValueKind Kind { get; }

    internal ReadOnlyMemory<byte> Json { get; }

    internal VersionId Version { get; }

    internal long Number { get; }

    internal object? Payload { get; }

    /// <summary>The body of a binary reply (<see cref="OkBinary"/>); null for any other.</summary>
    public BinaryValue? Binary => Payload as BinaryValue;

    public static ApiReply Fail(ErrorCode code) => new(code, ReplyValueKind.None);

    /// <summary>Success with no `v`.</summary>
    public static ApiReply Ok() => new(null, ReplyValueKind.None);

    /// <summary>Success with `v` = this compact JSON, written as is.</summary>
    public static ApiReply OkJson(ReadOnlyMemory<byte> json) => new(null, ReplyValueKind.RawJson, json);

    /// <summary>Success with `v` = a stored value; an object gets a `"_ver_"` member added, without a parse.</summary>
    public static ApiReply OkStored(ReadOnlyMemory<byte> json, VersionId version) =>
        new(null, ReplyValueKind.StoredJson, json, version);

    public static ApiReply OkNumber(long number) => new(null, ReplyValueKind.Number, number: number);

    public static ApiReply OkString(string text) => new(null, ReplyValueKind.String, payload: text);

    public static ApiReply OkStrings(IReadOnlyList<string> items) => new(null, ReplyValueKind.Strings, payload: items);

    /// <summary>Success with `v` written by <paramref name="writeValue"/>, which must write exactly one JSON value.</summary>
    public static ApiReply OkWriter(Action<Utf8JsonWriter> writeValue) => new(null, ReplyValueKind.Writer, payload: writeValue);

    /// <summary>
    /// Success with `v` written into the response as it goes (see <see cref="ReplyStream"/>). The service has already
    /// read what could fail before the first byte, so a refusal is still an ordinary reply. Whoever receives this
    /// reply writes it with <see cref="ReplyEnvelope.WriteStreamedAsync"/> or disposes its value.
    /// </summary>
    public static ApiReply OkStream(StreamedValue value) => new(null, ReplyValueKind.Streamed, payload: value);

    /// <summary>
    /// Success with a body that is not JSON and not in the envelope (a backup): the host sends it as it is written,
    /// with its media type; an in-process caller cannot take it.
    /// </summary>
    public static ApiReply OkBinary(BinaryValue value) => new(null, ReplyValueKind.Binary, payload: value);

    /// <summary>Releases a streamed reply that will not be written; nothing for any other reply.</summary>
    public ValueTask DiscardAsync() => Payload is StreamedValue value ? value.DisposeAsync() : ValueTask.CompletedTask;

    public static implicit operator ApiReply(ErrorCode code) => Fail(code);
}

public enum ReplyValueKind
{
    None,
    RawJson,
    StoredJson,
    Number,
    String,
    Strings,
    Writer,
    Streamed,
    Binary,
}
