namespace Kv4.Services.Api;

/// <summary>Finds the service that owns a URL prefix. Built once from the registered services.</summary>
public sealed class ServiceCatalog
{
    private readonly Dictionary<string, IApiService> _byName;

    public ServiceCatalog(IEnumerable<IApiService> services)
    {
        _byName = new Dictionary<string, IApiService>(StringComparer.Ordinal);
        foreach (var service in services)
            if (!_byName.TryAdd(service.Name, service))
                throw new InvalidOperationException($"two services claim the prefix _{service.Name}");
    }

    public IReadOnlyCollection<IApiService> Services => _byName.Values;

    public bool TryFind(string name, out IApiService service) => _byName.TryGetValue(name, out service!);
}
