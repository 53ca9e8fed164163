using Kv4.Cluster.Control;

namespace Kv4.Tests.Cluster;

/// <summary>
/// The control plane's state machine: a member declared down leaves, in the same command, the in-sync set of every
/// partition whose primary is up (those primaries stop waiting for it at once); a partition it led, or one whose
/// primary is down too, keeps its in-sync set for the controller's promotion to choose from.
/// </summary>
public sealed class ClusterStateTests
{
    private static ClusterState Founded()
    {
        MemberRecord Member(string name) => new() { Name = name, Endpoint = $"127.0.0.1:{name[1] - '0' + 7000}", State = MemberState.Up };
        PartitionRecord Partition(string primary, params string[] backups) =>
            new() { Epoch = 1, Primary = primary, Replicas = [primary, .. backups], InSync = [primary, .. backups] };
        var (state, refusal) = ClusterState.Empty.Apply(new Bootstrap
        {
            PartitionCount = 3,
            Replicas = 3,
            Members = [Member("n1"), Member("n2"), Member("n3")],
            Partitions = [Partition("n1", "n2", "n3"), Partition("n2", "n1", "n3"), Partition("n3", "n1", "n2")],
        });
        Assert.Null(refusal);
        return state;
    }

    [Fact]
    public void A_member_going_down_leaves_the_in_sync_sets_of_partitions_it_does_not_lead()
    {
        var (state, refusal) = Founded().Apply(new SetMemberState { Name = "n2", State = MemberState.Down, Expected = MemberState.Up });
        Assert.Null(refusal);
        Assert.Equal(MemberState.Down, state.Member("n2")!.State);
        Assert.Equal(["n1", "n3"], state.Partitions[0].InSync);
        Assert.Equal(1, state.Partitions[0].Config);
        Assert.Equal(["n1", "n2", "n3"], state.Partitions[0].Replicas); // still a replica: it catches up when back
        // The one it led is the controller's to promote, from the in-sync set as it was.
        Assert.Equal("n2", state.Partitions[1].Primary);
        Assert.Equal(["n2", "n1", "n3"], state.Partitions[1].InSync);
        Assert.Equal(0, state.Partitions[1].Config);
        Assert.Equal(["n3", "n1"], state.Partitions[2].InSync);

        // A proposal decided on the view before is refused.
        var (after, stale) = state.Apply(new SetPartition { Partition = 0, ExpectedConfig = 0, Record = state.Partitions[0] with { InSync = ["n1"] } });
        Assert.Equal("partition 0 is at config 1", stale);
        Assert.Same(state, after);
    }

    [Fact]
    public void A_partition_whose_primary_is_down_keeps_its_in_sync_set_when_a_backup_goes_down_too()
    {
        var (state, _) = Founded().Apply(new SetMemberState { Name = "n1", State = MemberState.Down });
        Assert.Equal(["n1", "n2", "n3"], state.Partitions[0].InSync);
        (state, _) = state.Apply(new SetMemberState { Name = "n2", State = MemberState.Down });
        Assert.Equal(["n1", "n2", "n3"], state.Partitions[0].InSync); // led by n1, down: left to the promotion
        Assert.Equal(["n3"], state.Partitions[2].InSync);

        // Up again: nothing is added back by the state change; the controller does that once it has caught up.
        (state, _) = state.Apply(new SetMemberState { Name = "n2", State = MemberState.Up });
        Assert.Equal(["n3"], state.Partitions[2].InSync);
    }
}
