using Kv4.Cluster.Control;
using Kv4.Services.Hosts;

namespace Kv4.Cluster.Realtime;

/// <summary>
/// `_host?type=signal|api` on a cluster node: every member the control plane holds up (never one down, joining or
/// leaving) with a public URL, at the load of its last heartbeat: its open sockets and watches, plus one for every ten
/// requests a second. With n1 at 40 sockets and 50 requests/s, n2 at 12 sockets and 300 requests/s and n3 down,
/// "signal" answers n2's WebSocket base (load 42 against 45).
/// </summary>
public sealed class ClusterHostDirectory(ClusterNode node) : IHostDirectory
{
    public const double RequestsPerSocket = 10;

    public bool TryGetCandidates(string type, out IReadOnlyList<HostCandidate> candidates)
    {
        candidates = [];
        if (type is not (LocalHostDirectory.SignalType or LocalHostDirectory.ApiType)) return false;
        var heard = node.Heard;
        var found = new List<HostCandidate>();
        foreach (var member in node.State.Members)
        {
            if (member.State != MemberState.Up) continue;
            heard.TryGetValue(member.Name, out var beat);
            if ((member.Url ?? beat?.Url) is not { } url) continue;
            var load = beat is null ? 0 : beat.Sockets + beat.RequestsPerSecond / RequestsPerSocket;
            found.Add(new HostCandidate(member.Name, type == LocalHostDirectory.SignalType ? LocalHostDirectory.SignalBase(url) : LocalHostDirectory.ApiBase(url), load));
        }
        candidates = found;
        return true;
    }
}
