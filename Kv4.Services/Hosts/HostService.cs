using Kv4.Services.Api;

namespace Kv4.Services.Hosts;

/// <summary>
/// `_host` (http-api.md §5.5): `GET /_host[/&lt;path&gt;]?type=signal|turn[&amp;k=user]` answers the URL of the least
/// loaded live host of that type as a JSON string. The Xirsys v3 form `GET /_host/best/signal` (the type as the
/// segment after `best`, no `type` parameter) asks the same. No type: require_type_param; a type no directory knows:
/// unrecognized_type_param; a known type with no live host: no_service_host.
/// </summary>
public sealed class HostService(IEnumerable<IHostDirectory> directories) : IApiService
{
    private const string BestPrefix = "best/";

    private readonly IHostDirectory[] _directories = directories.ToArray();

    public ServiceDeclaration Declaration => BuiltInServices.Host;

    public ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        if (request.Method != ApiMethod.Get) return new(ErrorCode.MethodNotAllowed);
        var type = request.Query.Get("type");
        if (type is null && request.Path.StartsWith(BestPrefix, StringComparison.Ordinal) && request.Path.IndexOf('/', BestPrefix.Length) < 0)
            type = request.Path[BestPrefix.Length..];
        if (string.IsNullOrEmpty(type)) return new(ErrorCode.RequireTypeParam);

        var known = false;
        var all = new List<HostCandidate>();
        foreach (var directory in _directories)
        {
            if (!directory.TryGetCandidates(type, out var candidates)) continue;
            known = true;
            all.AddRange(candidates);
        }
        if (!known) return new(ErrorCode.UnrecognizedTypeParam);
        return HostChooser.Choose(all, request.Query.Get("k")) is { } best
            ? new(ApiReply.OkString(best.Url))
            : new(ErrorCode.NoServiceHost);
    }
}
