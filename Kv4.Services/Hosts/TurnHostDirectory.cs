using Kv4.Services.Turn;

namespace Kv4.Services.Hosts;

/// <summary>
/// "turn": the configured TURN hosts (`Kv4:Turn:Hosts`) as "host:port", loaded by the credentials recently issued
/// for each (<see cref="TurnHostPool"/>). With no TURN host configured the type is unknown here. Once an external
/// service named "turn" is registered, `_turn` is forwarded there (<see cref="TurnService"/>), so the built-in hosts
/// step aside here too and `_host?type=turn` names a host of that service (<see cref="ExternalHostDirectory"/>).
/// </summary>
public sealed class TurnHostDirectory(TurnHostPool pool, External.ExternalServiceRegistry? registry = null) : IHostDirectory
{
    public const string TurnType = "turn";

    public bool TryGetCandidates(string type, out IReadOnlyList<HostCandidate> candidates)
    {
        candidates = [];
        if (type != TurnType || pool.IsEmpty || registry?.IsRegistered(TurnService.ServiceName) == true) return false;
        // The pool ranks by its own counters; its best host is offered alone so both agree on the choice.
        if (pool.Best() is { } best) candidates = [new HostCandidate(best.Address, best.Address, 0)];
        return true;
    }
}
