using Kv4.Services.External;

namespace Kv4.Services.Hosts;

/// <summary>Every registered external service name (http-api.md §5.8 External services) as a host type, with its live hosts at their utilization.</summary>
public sealed class ExternalHostDirectory(ExternalServiceRegistry registry) : IHostDirectory
{
    public bool TryGetCandidates(string type, out IReadOnlyList<HostCandidate> candidates)
    {
        candidates = [];
        if (!registry.IsRegistered(type)) return false;
        candidates = registry.LiveHosts(type).Select(h => new HostCandidate(h.HostId, h.Url.ToString(), h.Utilization)).ToArray();
        return true;
    }
}
