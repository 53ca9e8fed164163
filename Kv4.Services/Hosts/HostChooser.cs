namespace Kv4.Services.Hosts;

/// <summary>
/// Picks the host for a request: the least loaded candidate. Ties go to the one whose node id sorts first
/// after mixing in the request's user, so equally loaded nodes share the users instead of all landing on one,
/// while one user keeps getting the same node.
/// Example: candidates [(a, 10), (b, 3), (c, 3)] → b or c (whichever wins the tie for this user); never a.
/// </summary>
public static class HostChooser
{
    public static HostCandidate? Choose(IEnumerable<HostCandidate> candidates, string? user = null)
    {
        HostCandidate? best = null;
        var bestTie = 0u;
        foreach (var candidate in candidates)
        {
            if (double.IsNaN(candidate.Load) || candidate.Load < 0) continue;
            var tie = TieBreak(candidate.NodeId, user);
            if (best is null || candidate.Load < best.Load || (candidate.Load == best.Load && tie < bestTie))
            {
                best = candidate;
                bestTie = tie;
            }
        }
        return best;
    }

    // FNV-1a over node id and user: stable across processes (string.GetHashCode is randomized per process).
    private static uint TieBreak(string nodeId, string? user)
    {
        var hash = 2166136261u;
        foreach (var c in nodeId) hash = (hash ^ c) * 16777619u;
        hash = (hash ^ '|') * 16777619u;
        if (user is not null) foreach (var c in user) hash = (hash ^ c) * 16777619u;
        return hash;
    }
}
