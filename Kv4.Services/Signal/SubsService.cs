using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Paging;
using Kv4.Services.Storage;

namespace Kv4.Services.Signal;

/// <summary>
/// `_subs` (http-api.md §5.6): who is connected to a channel, from layer `subs`.
/// GET: the users' keys (sorted); `?as=values`: their entries; `?k=user`: one entry (not_found if not connected).
/// DELETE `?k=user`: kicks that user (socket closed, the others get `peer_removed`), v = 1 (0 if absent).
/// DELETE without k: kicks everyone on the channel and the channels below it, v = how many.
/// Nothing else writes this layer: PUT and POST answer method_not_allowed.
/// </summary>
public sealed class SubsService(SignalHub hub, PresenceRecorder presence) : IApiService
{
    public ServiceDeclaration Declaration => BuiltInServices.Subs;

    public async ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        var bucket = request.Caller.Bucket;
        var store = request.Store;
        var channel = request.Path;
        var user = request.Query.Get("k");
        switch (request.Method)
        {
            case ApiMethod.Get when user is not null:
                return await store.GetLatestAsync(PresenceRecorder.Layer, channel, user, request.CancellationToken).ConfigureAwait(false) is { } one
                    ? ApiReply.OkStored(one.Json, one.Version)
                    : ApiReply.Fail(ErrorCode.NotFound);
            case ApiMethod.Get when request.Query.Get("as") == "values":
            {
                // Paged by user like the plain listing: a page of keys, then their entries.
                if (await PageRequest.ReadAsync(request.Query, QueryValues.DefaultListingPageSize, store, "keys", [PresenceRecorder.Layer, channel],
                        request.CancellationToken).ConfigureAwait(false) is not { } page)
                    return ApiReply.Fail(ErrorCode.BadParam);
                var keys = await store.ListKeysAsync(PresenceRecorder.Layer, channel, page.AfterItem, page.Limit + 1, request.CancellationToken)
                    .ConfigureAwait(false);
                var entries = new List<(string User, StoredValue Value)>(keys.Count);
                for (var i = 0; i < keys.Count; i++)
                {
                    // The key past the page only tells that more remain (it is never written, so it needs no entry); a page
                    // short of entries that left meanwhile is written whole and ends the listing.
                    if (i == page.Limit)
                    {
                        if (entries.Count == page.Limit) entries.Add((keys[i], default));
                    }
                    else if (await store.GetLatestAsync(PresenceRecorder.Layer, channel, keys[i], request.CancellationToken).ConfigureAwait(false) is { } value)
                        entries.Add((keys[i], value));
                }
                return PagedArray.Reply(entries, page, static (writer, entry) => writer.WriteRawValue(entry.Value.Json.Span, skipInputValidation: true),
                    static entry => entry.User);
            }
            case ApiMethod.Get:
                return await PagedArray.KeysAsync(request.Query, store, PresenceRecorder.Layer, channel, request.CancellationToken).ConfigureAwait(false);
            case ApiMethod.Delete:
                return ApiReply.OkNumber(await KickAsync(store, channel, user, request.Caller.Actor, request.CancellationToken).ConfigureAwait(false));
            default:
                return ApiReply.Fail(ErrorCode.MethodNotAllowed);
        }
    }

    private async Task<long> KickAsync(IBucketView store, string channel, string? user, string actor, CancellationToken cancellationToken)
    {
        var bucket = store.Bucket;
        var gone = new HashSet<(string Channel, string User)>();
        foreach (var connection in hub.Connections(bucket, channel, user))
        {
            // The entry goes before the others hear `peer_removed`, as when a member leaves by itself.
            await presence.RemoveAsync(connection, cancellationToken).ConfigureAwait(false);
            if (hub.Leave(connection, SignalCloseReason.Kicked)) gone.Add((connection.Channel, connection.User));
        }
        // Entries without a live connection here (left by another node or a crash) are removed too, so the list
        // shows only who is really there.
        var paths = user is null ? await store.ListPathsAsync(PresenceRecorder.Layer, channel, cancellationToken: cancellationToken).ConfigureAwait(false) : [channel];
        foreach (var path in paths)
        {
            var keys = user is null ? await store.ListKeysAsync(PresenceRecorder.Layer, path, cancellationToken).ConfigureAwait(false) : [user];
            foreach (var key in keys)
            {
                if (gone.Contains((path, key)) || hub.Find(bucket, path, key) is not null) continue;
                var result = await store.DeleteAsync(PresenceRecorder.Layer, path, key, actor, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (result.Applied) gone.Add((path, key));
            }
        }
        return gone.Count;
    }
}
