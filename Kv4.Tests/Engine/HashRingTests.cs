using Kv4.Engine.Partitioning;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class HashRingTests
{
    [Fact]
    public void Worked_example_in_the_doc_comment_is_true()
    {
        // Pinned numbers: the ring must place points the same way in every process and release,
        // otherwise nodes of one cluster would disagree on who owns a partition.
        Assert.Equal(0x1d08UL, HashRing.StableHash("a#0") >> 48);
        Assert.Equal(0x1128UL, HashRing.StableHash("a#1") >> 48);
        Assert.Equal(0x49a0UL, HashRing.StableHash("b#0") >> 48);
        Assert.Equal(0x3302UL, HashRing.StableHash("b#1") >> 48);
        var p3 = HashRing.PartitionHash(3);
        Assert.Equal([0x73f0UL, 0xb187UL, 0x4531UL], [HashRing.Probe(p3, 0) >> 48, HashRing.Probe(p3, 1) >> 48, HashRing.Probe(p3, 2) >> 48]);

        var ring = new HashRing(partitionCount: 4, virtualNodesPerNode: 2);
        ring.AddNode("a");
        ring.AddNode("b");
        Assert.Equal(["a", "a", "a", "b"], Owners(ring));
        Assert.Equal([3], ring.PartitionsOf("b"));

        Assert.True(ring.RemoveNode("b"));
        Assert.Equal(["a", "a", "a", "a"], Owners(ring));
        Assert.True(ring.AddNode("b"));
        Assert.Equal(["a", "a", "a", "b"], Owners(ring));
    }

    [Fact]
    public void One_node_owns_every_partition()
    {
        var ring = new HashRing();
        Assert.True(ring.AddNode("node-1"));
        Assert.False(ring.AddNode("node-1"));
        Assert.Equal(HashRing.DefaultPartitionCount, ring.PartitionCount);
        Assert.All(Owners(ring), owner => Assert.Equal("node-1", owner));
        Assert.Equal(Enumerable.Range(0, 64), ring.PartitionsOf("node-1"));
        Assert.Equal("node-1", ring.OwnerOfKey("anything"));
    }

    [Fact]
    public void An_empty_ring_refuses_lookups_and_bad_arguments_are_refused()
    {
        var ring = new HashRing(8);
        Assert.Throws<InvalidOperationException>(() => ring.OwnerOfPartition(0));
        Assert.Throws<InvalidOperationException>(() => ring.OwnerOfKey("k"));
        ring.AddNode("n");
        Assert.False(ring.RemoveNode("other"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.OwnerOfPartition(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.OwnerOfPartition(-1));
        Assert.Throws<ArgumentException>(() => ring.AddNode(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashRing(0));
        Assert.True(ring.RemoveNode("n"));
        Assert.Empty(ring.Nodes);
        Assert.Throws<InvalidOperationException>(() => ring.OwnerOfPartition(0));
    }

    [Fact]
    public void Stable_hash_does_not_depend_on_the_string_buffer_path()
    {
        // Long strings go through a rented buffer instead of the stack: same bytes, same hash.
        var longText = new string('é', 400);
        Assert.Equal(HashRing.StableHash(System.Text.Encoding.UTF8.GetBytes(longText)), HashRing.StableHash(longText));
        Assert.NotEqual(HashRing.StableHash("n#1"), HashRing.StableHash("n#2"));
    }

    private static string[] Owners(HashRing ring) =>
        Enumerable.Range(0, ring.PartitionCount).Select(ring.OwnerOfPartition).ToArray();
}
