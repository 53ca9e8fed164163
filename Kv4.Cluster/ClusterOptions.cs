using System.Net;

namespace Kv4.Cluster;

/// <summary>
/// A node's cluster settings (the server reads them from <c>Kv4:Cluster:*</c>, see docs/cluster.md). The timings
/// keep this order, which the lease's safety rests on: <see cref="HeartbeatInterval"/> &lt; <see cref="Lease"/> &lt;
/// <see cref="FailureTimeout"/>.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>This node's name, unique in the cluster (Kv4:Cluster:Name).</summary>
    public required string Name { get; init; }

    /// <summary>The cluster port: Raft and the node bus (Kv4:Cluster:Listen).</summary>
    public required EndPoint Listen { get; init; }

    /// <summary>Where clients reach this node's API (Kv4:Node:PublicUrl): what `_host` and `/_cluster` answer.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>The founding members, name and endpoint (Kv4:Cluster:Initial, "n1=host:port,..."); empty for a node that joins.</summary>
    public IReadOnlyList<(string Name, EndPoint Endpoint)> Initial { get; init; } = [];

    /// <summary>A member's cluster endpoint, for a node that joins a running cluster (Kv4:Cluster:Join).</summary>
    public EndPoint? Join { get; init; }

    /// <summary>Copies of each partition (Kv4:Cluster:Replicas); null: min(3, founding members).</summary>
    public int? Replicas { get; init; }

    /// <summary>The shared secret nodes prove on the cluster port (Kv4:Cluster:Secret, else the `$sys` secret).</summary>
    public required string Secret { get; init; }

    /// <summary>The node's data directory: the control plane keeps its log under "cluster/".</summary>
    public required string DataDirectory { get; init; }

    public int PartitionCount { get; init; } = 64;

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a node serves as primary after a heartbeat the leader answered was sent.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMilliseconds(800);

    /// <summary>How long the leader waits without a heartbeat before it takes a node's partitions away.</summary>
    public TimeSpan FailureTimeout { get; init; } = TimeSpan.FromMilliseconds(1200);

    /// <summary>How long a primary waits for an in-sync backup before it asks to drop it from the in-sync set.</summary>
    public TimeSpan InSyncTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>A call on the bus (a forwarded request, a replication batch) fails after this.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a request waits for a partition that has no primary (a failover in progress) before it answers `unavailable`.</summary>
    public TimeSpan FailoverPatience { get; init; } = TimeSpan.FromSeconds(5);

    public int ElectionTimeoutLowerMs { get; init; } = 300;

    public int ElectionTimeoutUpperMs { get; init; } = 600;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || System.Text.Encoding.UTF8.GetByteCount(Name) > 255) throw new ArgumentException("Kv4:Cluster:Name: 1 to 255 bytes");
        if (Initial.Count == 0 && Join is null) throw new ArgumentException("Kv4:Cluster: either Initial (the founding members) or Join (a member's endpoint)");
        if (Initial.Count > 0 && !Initial.Any(m => m.Name == Name)) throw new ArgumentException($"Kv4:Cluster:Initial does not name this node ({Name})");
        if (Initial.Select(m => m.Name).Distinct().Count() != Initial.Count) throw new ArgumentException("Kv4:Cluster:Initial names a node twice");
        if (Replicas is < 1) throw new ArgumentException("Kv4:Cluster:Replicas: at least 1");
        if (!(HeartbeatInterval < Lease && Lease < FailureTimeout)) throw new ArgumentException("cluster timings: heartbeat < lease < failure timeout");
        if (Secret.Length < 16) throw new ArgumentException("the cluster secret needs at least 16 characters");
    }
}
