namespace Kv4.Services.Api;

/// <summary>
/// The value of a streamed reply (<see cref="ApiReply.OkStream"/>): written once into a <see cref="ReplyStream"/>,
/// then disposed; or only disposed, when the reply cannot be written (the client left first). Disposing releases
/// what the value holds open, e.g. a history read's hold on the log, which the store waits for when it closes.
/// </summary>
public abstract class StreamedValue : IAsyncDisposable
{
    /// <summary>Writes exactly one JSON value; answers the cursor of the next page, or null when nothing remains.</summary>
    public abstract ValueTask<string?> WriteAsync(ReplyStream output, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
