using Kv4.Cluster.Control;
using Kv4.Services.Cluster;

namespace Kv4.Cluster;

/// <summary>
/// `/_cluster` on a cluster node: the control plane's state as this node applied it, with each member's load and each
/// backup's lag from the heartbeats this node heard (every node hears every member's heartbeat).
/// </summary>
public sealed class ClusterView(ClusterNode node) : IClusterView
{
    private readonly Placement _placement = new();

    public ClusterSnapshot Snapshot()
    {
        var state = node.State;
        var heard = node.Heard;
        var members = state.Members.Select(m =>
        {
            heard.TryGetValue(m.Name, out var beat);
            return new MemberView(m.Name, m.Endpoint, m.Url ?? beat?.Url, m.State.ToString().ToLowerInvariant(), beat?.Sockets ?? 0, beat?.RequestsPerSecond ?? 0,
                state.Partitions.Count(p => p.Primary == m.Name), state.Partitions.Count(p => p.IsReplica(m.Name) && p.Primary != m.Name));
        }).ToList();
        var partitions = state.Partitions.Select((p, i) =>
        {
            var head = p.Primary is { } primary && heard.TryGetValue(primary, out var primaryBeat) && i < primaryBeat.Sequences.Length ? primaryBeat.Sequences[i] : 0;
            var lag = p.Backups.ToDictionary(b => b, b => heard.TryGetValue(b, out var beat) && i < beat.Sequences.Length ? Math.Max(0, head - beat.Sequences[i]) : head);
            return new PartitionView(i, p.Epoch, p.Primary, [.. p.Backups], p.InSync, lag);
        }).ToList();
        return new ClusterSnapshot(node.Name, node.Leader, members, partitions, _placement.Moving(state));
    }

    public async Task<DecommissionOutcome> DecommissionAsync(string name, CancellationToken cancellationToken)
    {
        if (node.State.Member(name) is null) return DecommissionOutcome.NoSuchNode;
        return await node.DecommissionAsync(name, cancellationToken).ConfigureAwait(false) ? DecommissionOutcome.Started : DecommissionOutcome.Refused;
    }
}
