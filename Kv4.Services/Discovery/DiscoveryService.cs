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
    protected override ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        var store = request.Store;
        if (!QueryValues.TryGetDepth(request.Query, request.Path, out var depth)) return new(ErrorCode.BadParam);
        if (!request.Query.TryGet("l", out var layer))
        {
            if (request.Path.Length > 0 || depth is not null) return new(ErrorCode.BadParam);
            var layers = store.ListLayers();
            return new(ApiReply.OkWriter(writer =>
            {
                writer.WriteStartObject();
                foreach (var count in layers) writer.WriteNumber(count.Layer, count.Entries);
                writer.WriteEndObject();
            }));
        }
        if (!AddressRules.IsValidLayer(layer)
            || !PageRequest.TryRead(request.Query, QueryValues.DefaultListingPageSize, store, "ds", [layer, request.Path], out var page))
            return new(ErrorCode.BadParam);
        return new(PagedArray.Reply(store.ListPaths(layer, request.Path, depth, page.AfterItem, page.Limit + 1), page));
    }
}
