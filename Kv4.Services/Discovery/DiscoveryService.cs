using Kv4.Engine.Rules;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Paging;

namespace Kv4.Services.Discovery;

/// <summary>
/// `_ds`: what the caller's bucket holds. `GET /_ds/&lt;path&gt;?l=&lt;layer&gt;[&amp;depth=N]` lists the paths at or under
/// the path that hold live entries in that layer (sorted, "a/b" form, at most `depth` segments below the path, as
/// `_ns` counts it), straight from
/// the engine's path index. `GET /_ds` (root, no `l`) answers the layers with their live entry counts as an object,
/// e.g. `{"data":3,"ns":2}` (a handful of layers: not paged). Path listings are paged like every listing (`limit`, `cursor`). Read-only.
/// </summary>
public sealed class DiscoveryService() : ApiService(BuiltInServices.Discovery)
{
    protected override async ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        var store = request.Store;
        if (!QueryValues.TryGetDepth(request.Query, request.Path, out var depth)) return ErrorCode.BadParam;
        if (!request.Query.TryGet("l", out var layer))
        {
            if (request.Path.Length > 0 || depth is not null) return ErrorCode.BadParam;
            var layers = await store.ListLayersAsync(request.CancellationToken).ConfigureAwait(false);
            return ApiReply.OkWriter(writer =>
            {
                writer.WriteStartObject();
                foreach (var count in layers) writer.WriteNumber(count.Layer, count.Entries);
                writer.WriteEndObject();
            });
        }
        if (!AddressRules.IsValidLayer(layer)
            || await PageRequest.ReadAsync(request.Query, QueryValues.DefaultListingPageSize, store, "ds", [layer, request.Path],
                request.CancellationToken).ConfigureAwait(false) is not { } page)
            return ErrorCode.BadParam;
        return PagedArray.Reply(await store.ListPathsAsync(layer, request.Path, depth, page.AfterItem, page.Limit + 1, request.CancellationToken)
            .ConfigureAwait(false), page);
    }
}
