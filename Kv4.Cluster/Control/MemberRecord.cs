using MessagePack;

namespace Kv4.Cluster.Control;

/// <summary>One member of the cluster: its name, its cluster endpoint ("host:port"), its public URL and its state.</summary>
[MessagePackObject]
public sealed record MemberRecord
{
    [Key(0)] public string Name { get; init; } = "";
    [Key(1)] public string Endpoint { get; init; } = "";
    [Key(2)] public string? Url { get; init; }
    [Key(3)] public MemberState State { get; init; }
}
