using System.Globalization;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Watch;

/// <summary>
/// A validated watch: the caller's bucket, one layer, a path prefix (whole segments) and where to resume.
/// Layers that hold credentials or session secrets (`acc`, `sess`) cannot be watched: their stored form is not
/// what their services show, so a stream of it would leak hashes.
/// </summary>
public sealed record WatchRequest(string Bucket, string Layer, string PathPrefix, long? AfterSequence)
{
    public static readonly IReadOnlySet<string> HiddenLayers = new HashSet<string>(StringComparer.Ordinal) { "acc", "sess" };

    public ChangeFilter Filter => new(Bucket, Layer, PathPrefix);

    /// <summary>Builds a watch from the parameters of either form (`/ws/watch?l=&amp;path=&amp;since=` or `/_&lt;l&gt;/&lt;path&gt;?watch=1&amp;since=`).</summary>
    public static bool TryCreate(Caller caller, string? layer, string? rawPath, string? since, out WatchRequest request, out ErrorCode error)
    {
        request = null!;
        error = ErrorCode.BadParam;
        if (!AddressRules.IsValidLayer(layer) || HiddenLayers.Contains(layer!)) return false;
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
        request = new WatchRequest(caller.Bucket, layer!, path, after);
        return true;
    }
}
