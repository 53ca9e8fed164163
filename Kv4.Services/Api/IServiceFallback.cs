namespace Kv4.Services.Api;

/// <summary>
/// Consulted by <see cref="ServiceCatalog"/> for a prefix no built-in service owns, before it answers
/// unknown_service: the registered external services (http-api.md §5.8 External services) resolve here.
/// </summary>
public interface IServiceFallback
{
    bool TryResolve(string name, out IApiService service);
}
