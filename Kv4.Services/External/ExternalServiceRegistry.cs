using System.Collections.Concurrent;

namespace Kv4.Services.External;

/// <summary>
/// The live hosts of external services, kept as in-memory soft state: a host registers (and renews) with a
/// heartbeat that carries a TTL, and it is out once the TTL passes without a renewal, or at once when a
/// forwarded request to it fails (<see cref="MarkDown"/>; its next heartbeat brings it back).
/// Nothing is written to the store: hosts re-register within one TTL after a Kv4 restart, and persisting
/// every heartbeat would append a version per host per beat to the time series for no reader (see docs/platform.md).
///
/// State, for example after two hosts of "turn" and one of "ocr" registered at 12:00:00 with a 30 s TTL:
/// <code>
///   "turn" → { "t1" → (http://10.0.0.5:9000, load 10, capacity 100, expires 12:00:30, down=false),
///              "t2" → (http://10.0.0.6:9000, load 50, capacity 100, expires 12:00:30, down=true) }
///   "ocr"  → { "o1" → (http://10.0.0.9:8080, load 0,  capacity 0,   expires 12:00:30, down=false) }
/// </code>
/// Best "turn" host: t1 (t2 is marked down). At 12:00:31 with no renewal every entry is out and is pruned on
/// the next read of its service; when a service has no entries left its name is no longer a registered service.
/// </summary>
public sealed class ExternalServiceRegistry(TimeProvider clock)
{
    public const int MaxServices = 256;
    public const int MaxHostsPerService = 64;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Entry>> _services = new(StringComparer.Ordinal);

    public ExternalServiceRegistry() : this(TimeProvider.System)
    {
    }

    /// <summary>Adds or renews a host. Returns false when a bound (services, hosts per service) would be exceeded.</summary>
    public bool Register(string service, string hostId, Uri url, double load, double capacity, TimeSpan ttl, string? proxyToken = null)
    {
        var now = clock.GetUtcNow();
        if (!_services.TryGetValue(service, out var hosts))
        {
            if (_services.Count >= MaxServices) return false;
            hosts = _services.GetOrAdd(service, _ => new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal));
        }
        Prune(service, hosts, now);
        if (!hosts.ContainsKey(hostId) && hosts.Count >= MaxHostsPerService) return false;
        hosts[hostId] = new Entry(new ServiceHost(service, hostId, url, load, capacity, ttl, now + ttl, proxyToken), Down: false);
        // A concurrent prune may have dropped the (then empty) dictionary; put it back so the host is not lost.
        _services.TryAdd(service, hosts);
        return true;
    }

    public bool Remove(string service, string hostId)
    {
        if (!_services.TryGetValue(service, out var hosts) || !hosts.TryRemove(hostId, out _)) return false;
        if (hosts.IsEmpty) _services.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, Entry>>(service, hosts));
        return true;
    }

    /// <summary>Takes a host out until its next heartbeat: a forwarded request to it failed.</summary>
    public void MarkDown(string service, string hostId)
    {
        if (_services.TryGetValue(service, out var hosts) && hosts.TryGetValue(hostId, out var entry))
        {
            hosts.TryUpdate(hostId, entry with { Down = true }, entry);
            }
    }

    /// <summary>True while the service has unexpired registrations (even if all are marked down).</summary>
    public bool IsRegistered(string service) =>
        _services.TryGetValue(service, out var hosts) && !Prune(service, hosts, clock.GetUtcNow());

    /// <summary>The live hosts of a service, least utilized first (ties by host id).</summary>
    public IReadOnlyList<ServiceHost> LiveHosts(string service)
    {
        if (!_services.TryGetValue(service, out var hosts)) return [];
        var now = clock.GetUtcNow();
        Prune(service, hosts, now);
        var live = new List<ServiceHost>(hosts.Count);
        foreach (var (_, entry) in hosts)
            if (!entry.Down && entry.Host.ExpiresAt > now) live.Add(entry.Host);
        live.Sort(static (a, b) => a.Utilization != b.Utilization
            ? a.Utilization.CompareTo(b.Utilization)
            : string.CompareOrdinal(a.HostId, b.HostId));
        return live;
    }

    public bool TryGetBest(string service, out ServiceHost host)
    {
        var live = LiveHosts(service);
        host = live.Count > 0 ? live[0] : null!;
        return live.Count > 0;
    }

    /// <summary>Every unexpired registration of a service (down ones included), ordered by host id, for listing.</summary>
    public IReadOnlyList<(ServiceHost Host, bool Down)> Registrations(string service)
    {
        if (!_services.TryGetValue(service, out var hosts)) return [];
        Prune(service, hosts, clock.GetUtcNow());
        return hosts.Values.Select(e => (e.Host, e.Down)).OrderBy(e => e.Host.HostId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The names with unexpired registrations, sorted.</summary>
    public IReadOnlyList<string> ServiceNames()
    {
        var now = clock.GetUtcNow();
        var names = new List<string>();
        foreach (var (name, hosts) in _services)
            if (!Prune(name, hosts, now)) names.Add(name);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Drops expired entries; returns true when the service has none left (and forgets it).</summary>
    private bool Prune(string service, ConcurrentDictionary<string, Entry> hosts, DateTimeOffset now)
    {
        foreach (var (id, entry) in hosts)
            if (entry.Host.ExpiresAt <= now) hosts.TryRemove(new KeyValuePair<string, Entry>(id, entry));
        var empty = hosts.IsEmpty;
        if (empty) _services.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, Entry>>(service, hosts));
        return empty;
    }

    private readonly record struct Entry(ServiceHost Host, bool Down);
}
