using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Generic;
using Kv4.Services.Paging;
using Kv4.Services.Storage;

namespace Kv4.Services.Signal;

/// <summary>
/// `_subs` (http-api.md §5.6): who is connected to a channel, from layer `subs`, where each subscription lives under its
/// channel's topic node (<see cref="PresenceRecorder.PathOf"/>: channel "room" → path "room/topic").
/// GET `/_subs/room/topic`: the users' keys (sorted); `?as=values`: their entries; `?k=user`: one entry (not_found if
/// not connected); `?time_series=1[&amp;k=user]`: who came and went, newest first.
/// DELETE `/_subs/room/topic?k=user`: kicks that user (socket closed, the others get `peer_removed`), v = 1 (0 if absent).
/// DELETE without k: kicks every subscription at or under the path (`/_subs/room`: the room and the channels below
/// it), v = how many. Nothing else writes this layer: PUT and POST answer method_not_allowed.
/// </summary>
public sealed class SubsService(SignalHub hub, PresenceRecorder presence) : IApiService
{
    public ServiceDeclaration Declaration => BuiltInServices.Subs;

    public async ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        var store = request.Store;
        // A topic node ("room/topic") for listings and single entries; any path for a kick.
        var path = request.Path;
        var user = request.Query.Get("k");
        switch (request.Method)
        {
            case ApiMethod.Get when TimeSeriesQuery.IsAsked(request):
                if (user is not null && !AddressRules.IsValidKey(user)) return ApiReply.Fail(ErrorCode.BadKey);
                return await TimeSeriesQuery.ReadAsync(request, PresenceRecorder.Layer, user).ConfigureAwait(false);
            case ApiMethod.Get when user is not null:
                return await store.GetLatestAsync(PresenceRecorder.Layer, path, user, request.CancellationToken).ConfigureAwait(false) is { } one
                    ? ApiReply.OkStored(one.Json, one.Version)
                    : ApiReply.Fail(ErrorCode.NotFound);
            case ApiMethod.Get when request.Query.Get("as") == "values":
            {
                // Paged by user like the plain listing: a page of keys, then their entries.
                if (await PageRequest.ReadAsync(request.Query, QueryValues.DefaultListingPageSize, store, "keys", [PresenceRecorder.Layer, path],
                        request.CancellationToken).ConfigureAwait(false) is not { } page)
                    return ApiReply.Fail(ErrorCode.BadParam);
                var keys = await store.ListKeysAsync(PresenceRecorder.Layer, path, page.AfterItem, page.Limit + 1, request.CancellationToken)
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
                    else if (await store.GetLatestAsync(PresenceRecorder.Layer, path, keys[i], request.CancellationToken).ConfigureAwait(false) is { } value)
                        entries.Add((keys[i], value));
                }
                return PagedArray.Reply(entries, page, static (writer, entry) => writer.WriteRawValue(entry.Value.Json.Span, skipInputValidation: true),
                    static entry => entry.User);
            }
            case ApiMethod.Get:
                return await PagedArray.KeysAsync(request.Query, store, PresenceRecorder.Layer, path, request.CancellationToken).ConfigureAwait(false);
            case ApiMethod.Delete:
                return ApiReply.OkNumber(await KickAsync(store, path, user, request.Caller.Actor, request.CancellationToken).ConfigureAwait(false));
            default:
                return ApiReply.Fail(ErrorCode.MethodNotAllowed);
        }
    }

    /// <summary>
    /// Kicks the subscriptions at <paramref name="path"/> (with a user: that user's at exactly that topic node; without:
    /// every one at or under the path), on this node and then on the cluster's other nodes.
    /// </summary>
    private async Task<long> KickAsync(IBucketView store, string path, string? user, string actor, CancellationToken cancellationToken)
    {
        var bucket = store.Bucket;
        var gone = new HashSet<(string Path, string User)>(await presence.KickLocalAsync(bucket, path, user, cancellationToken).ConfigureAwait(false));
        gone.UnionWith(await hub.Relay.KickElsewhereAsync(bucket, path, user, cancellationToken).ConfigureAwait(false));
        Func<string, bool> onChannel = user is null
            ? channel => AddressRules.IsUnder(PresenceRecorder.PathOf(channel), path)
            : channel => PresenceRecorder.PathOf(channel) == path;
        var live = new HashSet<(string Path, string User)>();
        foreach (var connection in hub.Connections(bucket, onChannel, user)) live.Add((PresenceRecorder.PathOf(connection.Channel), connection.User));
        // Entries without a live connection here (left by another node or a crash) are removed too, so the list
        // shows only who is really there.
        var paths = user is null ? await store.ListPathsAsync(PresenceRecorder.Layer, path, cancellationToken: cancellationToken).ConfigureAwait(false) : [path];
        foreach (var entryPath in paths)
        {
            var keys = user is null ? await store.ListKeysAsync(PresenceRecorder.Layer, entryPath, cancellationToken).ConfigureAwait(false) : [user];
            foreach (var key in keys)
            {
                if (gone.Contains((entryPath, key)) || live.Contains((entryPath, key))) continue;
                var result = await store.DeleteAsync(PresenceRecorder.Layer, entryPath, key, actor, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (result.Applied) gone.Add((entryPath, key));
            }
        }
        return gone.Count;
    }
}
