using System.Buffers;
using System.IO.Pipelines;

namespace Kv4.Server.Endpoints;

/// <summary>
/// A request body read into a pooled buffer, refusing to keep more than the limit: a declared Content-Length
/// over it is refused before buffering anything, a chunked body as soon as it passes it. The rest of a refused
/// body is read and discarded (up to Kestrel's hard MaxRequestBodySize), because a server that answers and
/// closes while the client is still sending makes most clients lose the answer (a reset instead of the 413).
/// A body Kestrel cannot read (bad chunked framing, slower than its minimum rate) throws
/// <see cref="BadHttpRequestException"/> with the status Kestrel chose; the endpoint answers it as the client's error.
/// The buffer goes back to the pool on dispose, so the body is valid only while the service call runs
/// (the engine copies what it stores).
/// </summary>
public sealed class BoundedBody : IDisposable
{
    public static readonly BoundedBody Empty = new(null, 0);

    private byte[]? _rented;

    private BoundedBody(byte[]? rented, int length)
    {
        _rented = rented;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _rented is null ? ReadOnlyMemory<byte>.Empty : _rented.AsMemory(0, Length);

    /// <summary>Null when the body is over <paramref name="limit"/> bytes.</summary>
    public static async ValueTask<BoundedBody?> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > limit)
        {
            await DrainAsync(request.BodyReader, cancellationToken);
            return null;
        }
        if (declared == 0) return Empty;
        var reader = request.BodyReader;
        byte[]? rented = null;
        var length = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (length + buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.End);
                    Return(rented);
                    rented = null;
                    if (!result.IsCompleted) await DrainAsync(reader, cancellationToken);
                    return null;
                }
                if (!buffer.IsEmpty)
                {
                    var needed = length + (int)buffer.Length;
                    if (rented is null || rented.Length < needed)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, (int)Math.Min(limit, declared ?? 4096)));
                        if (rented is not null)
                        {
                            rented.AsSpan(0, length).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(rented);
                        }
                        rented = bigger;
                    }
                    buffer.CopyTo(rented.AsSpan(length));
                    length = needed;
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            // Kestrel reports some malformed framing (a chunk size that overflows) as a plain IOException: still a
            // body the client sent wrong, so it surfaces as the same BadHttpRequestException as the rest.
            Return(rented);
            throw new BadHttpRequestException(e.Message, StatusCodes.Status400BadRequest, e);
        }
        catch
        {
            Return(rented);
            throw;
        }
        return length == 0 ? Empty : new BoundedBody(rented, length);
    }

    private static async ValueTask DrainAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled) return;
            }
        }
        catch (IOException)
        {
            // Past Kestrel's hard limit, or framing it cannot read (BadHttpRequestException is an IOException): it
            // closes the connection after our reply; nothing more we can do.
        }
    }

    public void Dispose()
    {
        var rented = _rented;
        _rented = null;
        Return(rented);
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }
}
