using System.Globalization;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Watch;

/// <summary>
/// A validated watch: the caller's bucket, one layer, a path prefix (whole segments) and where to resume.
/// Which layers may be watched is each service's declaration (<see cref="ServiceDeclaration.Watchable"/>), asked by
/// admission before this is built: a layer that holds credentials or session secrets is never streamed.
/// </summary>
public sealed record WatchRequest(string Bucket, string Layer, string PathPrefix, long? AfterSequence)
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
        long? after = null;
        if (since is not null)
        {
            if (!long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) return false;
            after = seq;
        }
        request = new WatchRequest(caller.Bucket, layer, path, after);
        return true;
    }
}
