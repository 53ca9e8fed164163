using Kv4.Engine.Partitioning;

namespace Kv4.Cluster.Control;

/// <summary>
/// Where the ring puts each partition's replicas: the first <see cref="ClusterState.Replicas"/> distinct nodes of the
/// ring (<see cref="HashRing.OwnersOfPartition"/>) over the members that are up or down (a node down for a while keeps
/// its place; a leaving or joining one has none), the first of them its primary. The same on every node, since the ring
/// is a function of the member names; the ring is built again only when they change.
/// </summary>
internal sealed class Placement
{
    private readonly Lock _gate = new();
    private HashRing? _ring;
    private string _key = "";

    public IReadOnlyList<string> Target(ClusterState state, int partition)
    {
        var names = state.Members.Where(m => m.State is MemberState.Up or MemberState.Down).Select(m => m.Name).ToList();
        if (names.Count == 0) return [];
        var key = string.Join('\n', names) + "\n" + state.PartitionCount;
        HashRing ring;
        lock (_gate)
        {
            if (_ring is null || key != _key)
            {
                _ring = new HashRing(state.PartitionCount);
                foreach (var name in names) _ring.AddNode(name);
                _key = key;
            }
            ring = _ring;
        }
        return ring.OwnersOfPartition(partition, state.Replicas);
    }

    /// <summary>How many partitions are not where the ring puts them yet (a replica to add or drop, a primary to hand over).</summary>
    public int Moving(ClusterState state)
    {
        var moving = 0;
        for (var p = 0; p < state.PartitionCount; p++)
        {
            var target = Target(state, p);
            var record = state.Partitions[p];
            if (target.Count == 0) continue;
            if (record.Primary != target[0] || !new HashSet<string>(record.Replicas).SetEquals(target)) moving++;
        }
        return moving;
    }
}
