using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Paging;

namespace Kv4.Services.Generic;

/// <summary>
/// `GET ...?time_series=1[&amp;k=KEY][&amp;gs=..&amp;ge=..][&amp;format=full][&amp;limit=..&amp;cursor=..]` for every layer
/// (http-api.md §2 Request template): the versions of one key, or of every key at the path, newest first, paged. Each
/// service passes its layer, the key it resolved from the query (`_auth` canonicalizes a rule, `_ns` always reads its
/// node marker) and, where its stored form holds what clients never see, a <paramref name="shown"/> projection that
/// every version goes through before it is written (`_acc` drops its hashes and incarnation: the same projection its
/// latest-value replies use). Example: `GET /_acc/accounts?k=lily&amp;time_series=1` answers
/// `[[1458109300,"elena",{"username":"lily",...,"active":false}],[1458109242,"elena",{"username":"lily",...,"active":true}]]`.
/// </summary>
public static class TimeSeriesQuery
{
    /// <summary>Whether the request asks for a time series (`time_series` = 1, true or yes).</summary>
    public static bool IsAsked(ApiRequest request) => request.Query.Flag("time_series");

    public static async ValueTask<ApiReply> ReadAsync(ApiRequest request, string layer, string? key,
        Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>? shown = null)
    {
        var query = request.Query;
        var format = query.Get("format");
        if (format is not null and not "full") return ErrorCode.BadParam;
        if (!TimeGroup.TryParseRange(query.Get("gs"), query.Get("ge"), out var fromMs, out var toMs)) return ErrorCode.BadParam;
        var store = request.Store;
        if (await PageRequest.ReadAsync(query, HistoryQuery.DefaultLimit, store, key is null ? "path-history" : "key-history",
                [layer, request.Path, key ?? ""], request.CancellationToken).ConfigureAwait(false) is not { } page
            || !page.TryGetAfterPosition(out var after))
            return ErrorCode.BadParam;

        // The page size is applied while the reply is written; the engine reads on until the reply stops.
        var bounds = new HistoryQuery(fromMs, toMs, int.MaxValue);
        var history = key is null
            ? store.ReadPathHistoryAsync(layer, request.Path, bounds, after, request.CancellationToken)
            : store.ReadHistoryAsync(layer, request.Path, key, bounds, after, request.CancellationToken);
        return await TimeSeriesWriter.PageAsync(history, page, full: format is not null, includeKey: key is null, request.CancellationToken, shown)
            .ConfigureAwait(false);
    }
}
