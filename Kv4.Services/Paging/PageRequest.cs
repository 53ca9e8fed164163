using System.Buffers.Binary;
using System.Text;
using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;

namespace Kv4.Services.Paging;

/// <summary>
/// The paging of one listing call: `limit` (the page size, 1..<see cref="QueryValues.MaxPageSize"/>) and `cursor`
/// (where the previous page stopped), tied to the listing's scope. Example: `GET /_data/a?limit=2` answers
/// `{"s":"ok","v":["k1","k2"],"next":"C"}` and `GET /_data/a?limit=2&amp;cursor=C` the keys after "k2".
/// </summary>
public readonly struct PageRequest
{
    private readonly byte[]? _after;

    private PageRequest(string scope, int limit, byte[]? after)
    {
        Scope = scope;
        Limit = limit;
        _after = after;
    }

    /// <summary>What the cursor is bound to: the listing's kind and everything the caller addressed, the bucket first.</summary>
    public string Scope { get; }

    public int Limit { get; }

    public bool HasCursor => _after is not null;

    /// <summary>
    /// Reads `limit` and `cursor`. <paramref name="kind"/> names the listing and <paramref name="parts"/> what it
    /// lists in the caller's bucket, the one <paramref name="store"/> is scoped to (layer, path, key...). A cursor that
    /// is not one this listing of this incarnation of the bucket handed out is bad_param (null).
    /// </summary>
    public static async ValueTask<PageRequest?> ReadAsync(ApiQuery query, int defaultLimit, Kv4.Services.Storage.IBucketReadView store, string kind,
        string[] parts, CancellationToken cancellationToken)
    {
        if (!QueryValues.TryGetLimit(query, defaultLimit, out var limit)) return null;
        var incarnation = await store.IncarnationAsync(cancellationToken).ConfigureAwait(false);
        var scope = string.Join("\n", [kind, store.Bucket, incarnation.ToString(System.Globalization.CultureInfo.InvariantCulture), .. parts]);
        byte[]? after = null;
        if (query.TryGet("cursor", out var text) && !PageCursor.TryOpen(scope, text, out after)) return null;
        return new PageRequest(scope, limit, after);
    }

    /// <summary>The item a listing's cursor continues after (null without a cursor).</summary>
    public string? AfterItem => _after is null ? null : Encoding.UTF8.GetString(_after);

    /// <summary>The history version a history cursor continues after; false when the cursor is not a history's.</summary>
    public bool TryGetAfterPosition(out HistoryPosition? position)
    {
        position = null;
        if (_after is null) return true;
        if (_after.Length != 24) return false;
        position = new HistoryPosition(BinaryPrimitives.ReadInt64LittleEndian(_after), BinaryPrimitives.ReadInt64LittleEndian(_after.AsSpan(8)),
            BinaryPrimitives.ReadInt64LittleEndian(_after.AsSpan(16)));
        return true;
    }

    public string CursorAfter(string item) => PageCursor.Seal(Scope, Encoding.UTF8.GetBytes(item));

    public string CursorAfter(HistoryPosition position)
    {
        Span<byte> bytes = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, position.Address);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], position.PreviousAddress);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], position.Version);
        return PageCursor.Seal(Scope, bytes);
    }
}
