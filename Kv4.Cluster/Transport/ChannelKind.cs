namespace Kv4.Cluster.Transport;

/// <summary>What a connection to the cluster port carries, named in its handshake.</summary>
public enum ChannelKind : byte
{
    /// <summary>The control plane's Raft messages (DotNext's protocol).</summary>
    Raft = 1,
    /// <summary>The node bus: forwarded store calls, replication, feeds, heartbeats.</summary>
    Bus = 2,
}
