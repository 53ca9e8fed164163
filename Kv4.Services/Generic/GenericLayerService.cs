using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Paging;

namespace Kv4.Services.Generic;

/// <summary>
/// The generic layer semantics of the contract's section 2, for any layer: latest value by key or secondary key,
/// key listing, time series (`time_series=1`, `gs`/`ge`, `format=full`), both paged (`limit`, `cursor`: see
/// <see cref="PagedArray"/>), PUT (create or replace), POST (compare-and-set on `_ver_`), DELETE of one key or of
/// a whole path. `_data` is this over layer `data`;
/// `_cfg` reuses it over layer `cfg`. Every address is (caller's bucket, this layer, request path, key).
/// </summary>
public class GenericLayerService : ApiService
{
    private static readonly ReadOnlyMemory<byte> EmptyObject = "{}"u8.ToArray();

    public GenericLayerService(Kv4Store store, string name, string layer)
        : base(name)
    {
        Store = store;
        Layer = layer;
    }

    public string Layer { get; }

    protected Kv4Store Store { get; }

    protected override ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        var query = request.Query;
        if (query.Flag("time_series")) return TimeSeriesAsync(request);
        var bucket = request.Caller.Bucket;

        if (!TryGetSingleLookup(query, out var slot, out var lookup, out var error)) return new(error);
        if (lookup is null)
        {
            if (!PageRequest.TryRead(query, QueryValues.DefaultListingPageSize, Store, bucket, "keys", [Layer, request.Path], out var page))
                return new(ErrorCode.BadParam);
            return new(PagedArray.Reply(Store.ListKeys(bucket, Layer, request.Path, page.AfterItem, page.Limit + 1), page));
        }

        StoredValue value;
        var found = slot is null
            ? Store.TryGetLatest(new EntryAddress(bucket, Layer, request.Path, lookup), out value)
            : Store.TryGetBySecondaryKey(bucket, Layer, request.Path, slot.Value, lookup, out _, out value);
        return new(found ? ApiReply.OkStored(value.Json, value.Version) : ApiReply.Fail(ErrorCode.NotFound));
    }

    protected override async ValueTask<ApiReply> PutAsync(ApiRequest request)
    {
        if (!RequestBody.TryParse(request.Body, out var body, out var error)) return error;
        if (body.Key is null) return ErrorCode.BadKey;
        if (body.Value is null) return ErrorCode.BadParam;
        var result = await Store.PutAsync(Address(request, body.Key), body.StorableValue, request.Caller.Actor,
            WriteCondition.None, body.SecondaryKeys, request.CancellationToken).ConfigureAwait(false);
        return ApiReply.OkStored(EmptyObject, result.Version);
    }

    /// <summary>
    /// Compare-and-set: the write applies only if the entry is still at the `_ver_` the client read. Secondary keys
    /// the body does not mention are kept (an update changes the value, not how it is found).
    /// </summary>
    protected override async ValueTask<ApiReply> PostAsync(ApiRequest request)
    {
        if (!RequestBody.TryParse(request.Body, out var body, out var error)) return error;
        if (body.Key is null) return ErrorCode.BadKey;
        if (body.Value is null) return ErrorCode.BadParam;
        if (!body.TryGetExpectedVersion(out var versionText, out error)) return error;
        if (versionText is null) return ErrorCode.VerMissing;

        var address = Address(request, body.Key);
        if (!VersionId.TryParse(versionText, out var expected))
            // Not a version this store ever issued: stale by definition, unless there is nothing to compare with.
            return Store.TryGetLatest(address, out _) ? ErrorCode.VersionConflict : ErrorCode.NotFound;

        var secondaryKeys = body.SecondaryKeys;
        if (!body.HasSecondaryKeys && Store.TryGetSecondaryKeys(address, out var current))
            secondaryKeys = current;
        var result = await Store.PutAsync(address, body.StorableValue, request.Caller.Actor,
            WriteCondition.IfVersion(expected), secondaryKeys, request.CancellationToken).ConfigureAwait(false);
        return ApiReply.OkStored(EmptyObject, result.Version);
    }

    protected override async ValueTask<ApiReply> DeleteAsync(ApiRequest request)
    {
        if (!QueryValues.TryGetKey(request.Query, "k", out var key)) return ErrorCode.BadKey;
        if (key is null)
            return ApiReply.OkNumber(await Store.DeleteTreeAsync(request.Caller.Bucket, Layer, request.Path, request.Caller.Actor,
                request.CancellationToken).ConfigureAwait(false));
        var result = await Store.DeleteAsync(Address(request, key), request.Caller.Actor, WriteCondition.None,
            request.CancellationToken).ConfigureAwait(false);
        return ApiReply.OkNumber(result.Applied ? 1 : 0);
    }

    private async ValueTask<ApiReply> TimeSeriesAsync(ApiRequest request)
    {
        var query = request.Query;
        if (!QueryValues.TryGetKey(query, "k", out var key)) return ErrorCode.BadKey;
        var format = query.Get("format");
        if (format is not null and not "full") return ErrorCode.BadParam;
        if (!TimeGroup.TryParseRange(query.Get("gs"), query.Get("ge"), out var fromMs, out var toMs)) return ErrorCode.BadParam;
        var bucket = request.Caller.Bucket;
        if (!PageRequest.TryRead(query, HistoryQuery.DefaultLimit, Store, bucket, key is null ? "path-history" : "key-history",
                [Layer, request.Path, key ?? ""], out var page)
            || !page.TryGetAfterPosition(out var after))
            return ErrorCode.BadParam;

        // The page size is applied while the reply is written; the engine reads on until the reply stops.
        var bounds = new HistoryQuery(fromMs, toMs, int.MaxValue);
        var history = key is null
            ? Store.ReadPathHistoryAsync(bucket, Layer, request.Path, bounds, after, request.CancellationToken)
            : Store.ReadHistoryAsync(Address(request, key), bounds, after, request.CancellationToken);
        return await TimeSeriesWriter.PageAsync(history, page, full: format is not null, includeKey: key is null, request.CancellationToken)
            .ConfigureAwait(false);
    }

    private EntryAddress Address(ApiRequest request, string key) => new(request.Caller.Bucket, Layer, request.Path, key);

    /// <summary>At most one of `k`, `k2`, `k3`, `k4` selects an entry; none means "list the keys".</summary>
    private static bool TryGetSingleLookup(ApiQuery query, out SecondaryKeySlot? slot, out string? lookup, out ErrorCode error)
    {
        slot = null;
        lookup = null;
        error = default;
        var count = 0;
        if (query.TryGet("k", out var k)) { lookup = k; count++; }
        if (query.TryGet("k2", out var k2)) { lookup = k2; slot = SecondaryKeySlot.K2; count++; }
        if (query.TryGet("k3", out var k3)) { lookup = k3; slot = SecondaryKeySlot.K3; count++; }
        if (query.TryGet("k4", out var k4)) { lookup = k4; slot = SecondaryKeySlot.K4; count++; }
        if (count > 1)
        {
            error = ErrorCode.BadParam;
            return false;
        }
        if (lookup is not null && !Kv4.Engine.Rules.AddressRules.IsValidKey(lookup))
        {
            error = ErrorCode.BadKey;
            return false;
        }
        return true;
    }
}
