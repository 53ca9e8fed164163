namespace Kv4.Services.Api;

/// <summary>
/// The body of a <see cref="ApiReply.OkBinary"/> reply: its media type and what writes it. The writer runs once, into
/// the response as it goes; a failure after the first byte cuts the response off, so the client never takes a
/// part for the whole (the formats sent this way end with a mark of their own).
/// </summary>
public sealed class BinaryValue(string mediaType, Func<Stream, CancellationToken, ValueTask> write)
{
    public string MediaType { get; } = mediaType;

    public ValueTask WriteAsync(Stream output, CancellationToken cancellationToken) => write(output, cancellationToken);
}
