using MessagePack;

namespace Kv4.Cluster.Control;

/// <summary>
/// A change of the <see cref="ClusterState"/>, as it goes into the Raft log. Every command that depends on what its
/// proposer saw carries that (a partition's config, a member's state), and is refused when it no longer holds: a
/// command whose outcome was unknown to its proposer (a leader change while it was replicated) may still commit
/// later, and must then change nothing. <see cref="Id"/> lets the proposer find its command's outcome.
/// </summary>
[Union(0, typeof(Bootstrap))]
[Union(1, typeof(AddMember))]
[Union(2, typeof(SetMemberState))]
[Union(3, typeof(SetPartition))]
[Union(4, typeof(RemoveMember))]
public abstract class ClusterCommand
{
    [Key(0)] public Guid Id { get; set; } = Guid.NewGuid();

    public static readonly MessagePackSerializerOptions SerializerOptions =
        MessagePack.Resolvers.StandardResolver.Options.WithSecurity(MessagePackSecurity.UntrustedData);

    public byte[] Serialize() => MessagePackSerializer.Serialize(this, SerializerOptions);

    public static ClusterCommand Deserialize(ReadOnlyMemory<byte> bytes) => MessagePackSerializer.Deserialize<ClusterCommand>(bytes, SerializerOptions);
}

/// <summary>The first command of a new cluster: its members and the first placement (every replica in sync, all empty).</summary>
[MessagePackObject]
public sealed class Bootstrap : ClusterCommand
{
    [Key(1)] public int PartitionCount { get; set; }
    [Key(2)] public int Replicas { get; set; }
    [Key(3)] public MemberRecord[] Members { get; set; } = [];
    [Key(4)] public PartitionRecord[] Partitions { get; set; } = [];
}

/// <summary>Lets a node in (state Joining), or updates a member's endpoint and URL.</summary>
[MessagePackObject]
public sealed class AddMember : ClusterCommand
{
    [Key(1)] public MemberRecord Member { get; set; } = new();
}

[MessagePackObject]
public sealed class SetMemberState : ClusterCommand
{
    [Key(1)] public string Name { get; set; } = "";
    [Key(2)] public MemberState State { get; set; }
    /// <summary>Applies only if the member is still in this state (null: whatever its state).</summary>
    [Key(3)] public MemberState? Expected { get; set; }
}

/// <summary>A partition's new record, if it is still at <see cref="ExpectedConfig"/>.</summary>
[MessagePackObject]
public sealed class SetPartition : ClusterCommand
{
    [Key(1)] public int Partition { get; set; }
    [Key(2)] public long ExpectedConfig { get; set; }
    [Key(3)] public PartitionRecord Record { get; set; } = new();
}

/// <summary>Removes a member that holds no partition any more (the end of a decommission).</summary>
[MessagePackObject]
public sealed class RemoveMember : ClusterCommand
{
    [Key(1)] public string Name { get; set; } = "";
}
