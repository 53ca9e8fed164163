namespace Kv4.Services.Api;

/// <summary>
/// Consulted by <see cref="ServiceCatalog"/> for a prefix no built-in service owns, before it answers
/// unknown_service: the registered external services (section 5.8) resolve here.
/// </summary>
public interface IServiceFallback
{
    bool TryResolve(string name, out IApiService service);
}
