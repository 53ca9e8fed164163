using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Generic;
using Kv4.Services.Paging;
using Kv4.Services.Storage;
using Kv4.Services.Tokens;

namespace Kv4.Services.Namespace;

/// <summary>
/// `_ns`: the account's public tree of named nodes (channels live there; `_token` checks them).
/// Storage: a created node is one marker entry in layer `ns` at the node's own path, key <see cref="MarkerKey"/>,
/// value `true`. Example: after `PUT /_ns/a/b/c` and `PUT /_ns/a` the bucket holds
/// (ns, "a", "node") and (ns, "a/b/c", "node"); `GET /_ns` lists ["a","a/b/c"] (only created nodes: "a/b" was never
/// created), `GET /_ns?depth=1` lists ["a"], `GET /_ns/a?depth=2` (depth counted under the path) lists ["a","a/b/c"],
/// and `DELETE /_ns/a` tombstones both markers and answers 2.
/// So a listing is the engine's path index of the layer, and the node history is the markers' time series.
/// </summary>
public sealed class NamespaceService() : ApiService(BuiltInServices.Namespace), IChannelDirectory
{
    public const string Layer = "ns";
    public const string MarkerKey = "node";
    private static readonly ReadOnlyMemory<byte> MarkerValue = "true"u8.ToArray();

    /// <summary>Whether the node at exactly <paramref name="path"/> (normal form) was created in the bucket.</summary>
    public static async ValueTask<bool> NodeExistsAsync(IBucketReadView bucket, string path, CancellationToken cancellationToken) =>
        path.Length > 0 && await bucket.GetLatestAsync(Layer, path, MarkerKey, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Creates the node; creating an existing node changes nothing. `v` is the node's path.</summary>
    /// <summary>For `_token`: a channel exists when its node was created.</summary>
    public ValueTask<bool> ExistsAsync(IBucketReadView bucket, string path, CancellationToken cancellationToken) =>
        NodeExistsAsync(bucket, path, cancellationToken);

    protected override async ValueTask<ApiReply> PutAsync(ApiRequest request)
    {
        if (request.Path.Length == 0) return ErrorCode.BadPath;
        if (!await NodeExistsAsync(request.Store, request.Path, request.CancellationToken).ConfigureAwait(false))
        {
            try
            {
                await request.Store.PutAsync(Layer, request.Path, MarkerKey, MarkerValue,
                    request.Caller.Actor, WriteCondition.IfAbsent, SecondaryKeys.None, request.CancellationToken).ConfigureAwait(false);
            }
            catch (EngineException e) when (e.Error == EngineError.Exists)
            {
                // Created concurrently by another call: the node exists, which is what was asked.
            }
        }
        return ApiReply.OkString(request.Path);
    }

    /// <summary>
    /// The nodes at or under the path, at most `depth` segments below it (with `at`: the nodes that existed at that
    /// instant); with `time_series=1` the history of the node itself (`true` when created, null when deleted).
    /// </summary>
    protected override async ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        if (!PointInTime.TryGet(request.Query, out var atMs)) return ErrorCode.BadParam;
        if (TimeSeriesQuery.IsAsked(request))
            return atMs is null ? await TimeSeriesQuery.ReadAsync(request, Layer, MarkerKey).ConfigureAwait(false) : ErrorCode.BadParam;
        var at = atMs?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!QueryValues.TryGetDepth(request.Query, request.Path, out var depth)
            || await PageRequest.ReadAsync(request.Query, QueryValues.DefaultListingPageSize, request.Store, at is null ? "ns" : "ns-at",
                at is null ? [request.Path] : [request.Path, at], request.CancellationToken).ConfigureAwait(false) is not { } page)
            return ErrorCode.BadParam;
        var nodes = atMs is { } instant
            ? await request.Store.ListPathsAtAsync(Layer, request.Path, depth, instant, page.AfterItem, page.Limit + 1, request.CancellationToken)
                .ConfigureAwait(false)
            : await request.Store.ListPathsAsync(Layer, request.Path, depth, page.AfterItem, page.Limit + 1, request.CancellationToken)
                .ConfigureAwait(false);
        return PagedArray.Reply(nodes, page);
    }

    protected override async ValueTask<ApiReply> DeleteAsync(ApiRequest request) =>
        ApiReply.OkNumber(await request.Store.DeleteTreeAsync(Layer, request.Path, request.Caller.Actor,
            request.CancellationToken).ConfigureAwait(false));
}
