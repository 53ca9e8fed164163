using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Paging;

namespace Kv4.Services.Generic;

/// <summary>
/// The generic layer semantics of http-api.md §2 Request template, for any layer: latest value by key or secondary key,
/// key listing, either as of an instant (`at`, see <see cref="PointInTime"/>), time series (`time_series=1`, `gs`/`ge`, `format=full`), both paged (`limit`, `cursor`: see
/// <see cref="PagedArray"/>), PUT (create or replace), POST (create a new key, else compare-and-set on `_ver_`), DELETE of one key or of
/// a whole path. `_data` is this over layer `data`;
/// `_cfg` reuses it over layer `cfg`. Every address is (caller's bucket, this layer, request path, key).
/// </summary>
public class GenericLayerService : ApiService
{
    private static readonly ReadOnlyMemory<byte> EmptyObject = "{}"u8.ToArray();

    public GenericLayerService(ServiceDeclaration declaration)
        : base(declaration)
    {
        Layer = declaration.Layer ?? throw new ArgumentException("a generic layer service needs a layer", nameof(declaration));
    }

    public string Layer { get; }

    protected override async ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        var query = request.Query;
        if (!PointInTime.TryGet(query, out var atMs)) return ErrorCode.BadParam;
        if (TimeSeriesQuery.IsAsked(request))
            return atMs is null ? await TimeSeriesAsync(request).ConfigureAwait(false) : ErrorCode.BadParam;
        var store = request.Store;

        if (!TryGetSingleLookup(query, out var slot, out var lookup, out var error)) return error;
        if (atMs is { } at)
        {
            // As of an instant: by key or a key listing. A secondary key names whoever holds it now, not then.
            if (slot is not null) return ErrorCode.BadParam;
            if (lookup is null) return await PagedArray.KeysAtAsync(query, store, Layer, request.Path, at, request.CancellationToken).ConfigureAwait(false);
            return await store.GetAtAsync(Layer, request.Path, lookup, at, request.CancellationToken).ConfigureAwait(false) is { } then
                ? ApiReply.OkStored(then.Json, then.Version)
                : ApiReply.Fail(ErrorCode.NotFound);
        }
        if (lookup is null) return await PagedArray.KeysAsync(query, store, Layer, request.Path, request.CancellationToken).ConfigureAwait(false);

        var found = slot is null
            ? await store.GetLatestAsync(Layer, request.Path, lookup, request.CancellationToken).ConfigureAwait(false)
            : (await store.GetBySecondaryKeyAsync(Layer, request.Path, slot.Value, lookup, request.CancellationToken).ConfigureAwait(false))?.Value;
        return found is { } value ? ApiReply.OkStored(value.Json, value.Version) : ApiReply.Fail(ErrorCode.NotFound);
    }

    protected override async ValueTask<ApiReply> PutAsync(ApiRequest request)
    {
        if (!RequestBody.TryParse(request.Body, out var body, out var error)) return error;
        if (body.Key is null) return ErrorCode.BadKey;
        if (body.Value is null) return ErrorCode.BadParam;
        var result = await request.Store.PutAsync(Layer, request.Path, body.Key, body.StorableValue, request.Caller.Actor,
            WriteCondition.None, body.SecondaryKeys, request.CancellationToken).ConfigureAwait(false);
        return ApiReply.OkStored(EmptyObject, result.Version);
    }

    /// <summary>
    /// A POST without `_ver_` creates a key that does not exist (<see cref="PostCreates"/>) and answers `_ver_missing`
    /// for one that does. With `_ver_` it is a compare-and-set: the write applies only if the entry is still at the
    /// version the client read (`not_found` when there is no entry). Secondary keys the body does not mention are
    /// kept (an update changes the value, not how it is found).
    /// </summary>
    protected override async ValueTask<ApiReply> PostAsync(ApiRequest request)
    {
        if (!RequestBody.TryParse(request.Body, out var body, out var error)) return error;
        if (body.Key is null) return ErrorCode.BadKey;
        if (body.Value is null) return ErrorCode.BadParam;
        if (!body.TryGetExpectedVersion(out var versionText, out error)) return error;

        var store = request.Store;
        if (versionText is null)
            return await PostCreates.CreateOrUpdateAsync(
                await store.GetLatestAsync(Layer, request.Path, body.Key, request.CancellationToken).ConfigureAwait(false) is not null,
                async () =>
                {
                    var created = await store.PutAsync(Layer, request.Path, body.Key, body.StorableValue, request.Caller.Actor,
                        WriteCondition.IfAbsent, body.SecondaryKeys, request.CancellationToken).ConfigureAwait(false);
                    return ApiReply.OkStored(EmptyObject, created.Version);
                },
                static () => new(ErrorCode.VerMissing)).ConfigureAwait(false);

        if (!VersionId.TryParse(versionText, out var expected))
            // Not a version this store ever issued: stale by definition, unless there is nothing to compare with.
            return await store.GetLatestAsync(Layer, request.Path, body.Key, request.CancellationToken).ConfigureAwait(false) is not null
                ? ErrorCode.VersionConflict
                : ErrorCode.NotFound;

        var secondaryKeys = body.SecondaryKeys;
        if (!body.HasSecondaryKeys
            && await store.GetSecondaryKeysAsync(Layer, request.Path, body.Key, request.CancellationToken).ConfigureAwait(false) is { } current)
            secondaryKeys = current;
        var result = await store.PutAsync(Layer, request.Path, body.Key, body.StorableValue, request.Caller.Actor,
            WriteCondition.IfVersion(expected), secondaryKeys, request.CancellationToken).ConfigureAwait(false);
        return ApiReply.OkStored(EmptyObject, result.Version);
    }

    protected override async ValueTask<ApiReply> DeleteAsync(ApiRequest request)
    {
        if (!QueryValues.TryGetKey(request.Query, "k", out var key)) return ErrorCode.BadKey;
        if (key is null)
            return ApiReply.OkNumber(await request.Store.DeleteTreeAsync(Layer, request.Path, request.Caller.Actor,
                request.CancellationToken).ConfigureAwait(false));
        var result = await request.Store.DeleteAsync(Layer, request.Path, key, request.Caller.Actor, WriteCondition.None,
            request.CancellationToken).ConfigureAwait(false);
        return ApiReply.OkNumber(result.Applied ? 1 : 0);
    }

    private ValueTask<ApiReply> TimeSeriesAsync(ApiRequest request) =>
        QueryValues.TryGetKey(request.Query, "k", out var key) ? TimeSeriesQuery.ReadAsync(request, Layer, key) : new(ErrorCode.BadKey);

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
