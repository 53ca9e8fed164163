namespace Kv4.Services.Hosts;

/// <summary>
/// A source of hosts by type for `_host`. The local node answers "signal" (and "turn" from configuration);
/// the cluster and external-service registries plug in further directories for their types.
/// </summary>
public interface IHostDirectory
{
    /// <summary>
    /// False when this directory does not know <paramref name="type"/> at all. True with the currently live
    /// candidates (possibly none) when it does.
    /// </summary>
    bool TryGetCandidates(string type, out IReadOnlyList<HostCandidate> candidates);
}
