namespace Kv4.Services.Cluster;

/// <summary>
/// What `/_cluster` reads and asks of the node it runs on: a picture of the members and the partitions, and the
/// decommission of a member. A single node is a cluster of one (<see cref="SingleNodeCluster"/>); a cluster node
/// answers from its control plane.
/// </summary>
public interface IClusterView
{
    ClusterSnapshot Snapshot();

    /// <summary>Starts moving a member's partitions away; it leaves once it holds none. Null when not clustered.</summary>
    Task<DecommissionOutcome> DecommissionAsync(string node, CancellationToken cancellationToken);
}

public enum DecommissionOutcome
{
    Started,
    NotClustered,
    NoSuchNode,
    Refused,
}

/// <summary>The cluster as one node sees it (the members' loads as their heartbeats last told this node).</summary>
/// <summary>The cluster as one node sees it; <see cref="Moving"/> counts partitions not yet where the ring puts them (0: balanced).</summary>
public sealed record ClusterSnapshot(string Self, string? Leader, IReadOnlyList<MemberView> Members, IReadOnlyList<PartitionView> Partitions, int Moving = 0);

public sealed record MemberView(string Name, string? Endpoint, string? Url, string State, long Sockets, double RequestsPerSecond, int Primaries, int Replicas);

/// <summary>One partition: its primary's epoch, the primary, its backups, the in-sync set (primary included) and each backup's lag in records.</summary>
public sealed record PartitionView(int Partition, int Epoch, string? Primary, IReadOnlyList<string> Replicas, IReadOnlyList<string> InSync,
    IReadOnlyDictionary<string, long> Lag);
