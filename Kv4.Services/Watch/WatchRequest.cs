using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Watch;

/// <summary>
/// A validated watch: the caller's bucket, one layer, a path prefix (whole segments) and where to resume (null: from
/// now). `since` is the cursor of the last change a client was given, or 0 for everything retained.
/// Which layers may be watched is each service's declaration (<see cref="ServiceDeclaration.Watchable"/>), asked by
/// admission before this is built: a layer that holds credentials or session secrets is never streamed.
/// </summary>
public sealed record WatchRequest(string Bucket, string Layer, string PathPrefix, FeedCursor? After)
{
    public ChangeFilter Filter => new(Bucket, Layer, PathPrefix);

    /// <summary>Builds a watch from the parameters of either form (`/ws/watch?l=&amp;path=&amp;since=` or `/_&lt;l&gt;/&lt;path&gt;?watch=1&amp;since=`).</summary>
    public static bool TryCreate(Caller caller, string layer, string? rawPath, string? since, out WatchRequest request, out ErrorCode error)
    {
        request = null!;
        error = ErrorCode.BadParam;
        if (!AddressRules.IsValidLayer(layer)) return false;
        if (!AddressRules.TryNormalizePath(rawPath ?? "", out var path))
        {
            error = ErrorCode.BadPath;
            return false;
        }
        FeedCursor? after = null;
        if (since is not null && !FeedCursor.TryParse(since, out after)) return false;
        request = new WatchRequest(caller.Bucket, layer, path, after);
        return true;
    }
}
