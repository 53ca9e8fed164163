using Kv4.Cluster.Bus;
using MessagePack;

namespace Kv4.Cluster.Control;

/// <summary>
/// A node to the control plane's leader, every <see cref="ClusterOptions.HeartbeatInterval"/>: it is alive, what it
/// carries, and how far each partition it holds has come. The leader's answer renews the node's lease.
/// </summary>
[MessagePackObject]
public sealed class Heartbeat : BusMessage
{
    [Key(0)] public string Node { get; set; } = "";
    [Key(1)] public string? Url { get; set; }
    [Key(2)] public long Sockets { get; set; }
    [Key(3)] public double RequestsPerSecond { get; set; }
    /// <summary>Each partition's last sequence on this node (0 where it holds nothing).</summary>
    [Key(4)] public long[] Sequences { get; set; } = [];
    [Key(5)] public string Endpoint { get; set; } = "";
}

[MessagePackObject]
public sealed class HeartbeatReply : BusMessage
{
    /// <summary>False when the node asked is no longer the leader: the lease is not renewed.</summary>
    [Key(0)] public bool Leader { get; set; }
    /// <summary>The state version the leader had applied: the node serves as primary only once it has applied as much.</summary>
    [Key(1)] public long StateVersion { get; set; }
}

/// <summary>A follower forwards a command to the leader (the Raft transport does not redirect).</summary>
[MessagePackObject]
public sealed class Propose : BusMessage
{
    [Key(0)] public byte[] Command { get; set; } = [];
}

[MessagePackObject]
public sealed class Proposed : BusMessage
{
    [Key(0)] public bool Applied { get; set; }
    [Key(1)] public string? Reason { get; set; }
    [Key(2)] public long StateVersion { get; set; }
}

/// <summary>A new node asks a member to be let into the cluster.</summary>
[MessagePackObject]
public sealed class JoinRequest : BusMessage
{
    [Key(0)] public string Name { get; set; } = "";
    [Key(1)] public string Endpoint { get; set; } = "";
    [Key(2)] public string? Url { get; set; }
}

/// <summary>
/// The leader, before it gives a partition a new primary: from now on refuse records of an epoch below
/// <see cref="Epoch"/>, and say how far you are.
/// </summary>
[MessagePackObject]
public sealed class Fence : BusMessage
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public int Epoch { get; set; }
    /// <summary>A handoff, to the primary itself: take no new write, and first see the ones in flight acknowledged.</summary>
    [Key(2)] public bool Drain { get; set; }
}

[MessagePackObject]
public sealed class Fenced : BusMessage
{
    [Key(0)] public long Sequence { get; set; }
    [Key(1)] public long Position { get; set; }
}
