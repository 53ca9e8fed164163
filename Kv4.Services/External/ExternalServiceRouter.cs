using System.Collections.Concurrent;
using Kv4.Services.Api;

namespace Kv4.Services.External;

/// <summary>Resolves an unknown `/_&lt;name&gt;/` prefix to its external service while that name has registered hosts.</summary>
public sealed class ExternalServiceRouter(ExternalServiceRegistry registry, ExternalServiceForwarder forwarder) : IServiceFallback
{
    // One small forwarding service per name ever resolved; names are bounded by the registry.
    private readonly ConcurrentDictionary<string, ExternalService> _services = new(StringComparer.Ordinal);

    public bool TryResolve(string name, out IApiService service)
    {
        if (!registry.IsRegistered(name))
        {
            service = null!;
            return false;
        }
        service = _services.GetOrAdd(name, n => new ExternalService(n, forwarder));
        return true;
    }
}
