namespace Kv4.Services.Api;

/// <summary>
/// Finds the service that owns a URL prefix. Built once from the registered services; a prefix none of them owns
/// is offered to the fallback (registered external services) before the host answers unknown_service.
/// </summary>
public sealed class ServiceCatalog
{
    private readonly Dictionary<string, IApiService> _byName;
    private readonly IServiceFallback? _fallback;

    public ServiceCatalog(IEnumerable<IApiService> services, IServiceFallback? fallback = null)
    {
        _fallback = fallback;
        _byName = new Dictionary<string, IApiService>(StringComparer.Ordinal);
        foreach (var service in services)
            if (!_byName.TryAdd(service.Name, service))
                throw new InvalidOperationException($"two services claim the prefix _{service.Name}");
    }

    public IReadOnlyCollection<IApiService> Services => _byName.Values;

    /// <summary>The built-in service that owns <paramref name="layer"/> (`/ws/watch?l=` names a layer, not a prefix).</summary>
    public bool TryFindByLayer(string layer, out IApiService service)
    {
        foreach (var candidate in _byName.Values)
            if (candidate.Declaration.Layer == layer)
            {
                service = candidate;
                return true;
            }
        service = null!;
        return false;
    }

    public bool TryFind(string name, out IApiService service) =>
        _byName.TryGetValue(name, out service!) || (_fallback is not null && _fallback.TryResolve(name, out service));
}
