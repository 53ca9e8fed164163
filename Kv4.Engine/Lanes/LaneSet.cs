namespace Kv4.Engine.Lanes;

/// <summary>
/// The store's lanes, one per partition. Most work takes one lane; the few operations that must see or change
/// every partition at one instant (a bucket drop, a subtree delete, a feed reader's starting cut, a checkpoint's
/// header, closing) take all of them, always in partition order, so two of them never deadlock.
/// </summary>
internal sealed class LaneSet
{
    private readonly PartitionLane[] lanes;

    public LaneSet(int partitionCount)
    {
        lanes = new PartitionLane[partitionCount];
        for (var p = 0; p < partitionCount; p++) lanes[p] = new PartitionLane(p);
    }

    public int Count => lanes.Length;

    public PartitionLane this[int partition] => lanes[partition];

    public ReadOnlySpan<PartitionLane> All => lanes;

    /// <summary>Holds every lane until disposed.</summary>
    public AllLanes EnterAll()
    {
        foreach (var lane in lanes) lane.Gate.Enter();
        return new AllLanes(lanes);
    }

    public readonly ref struct AllLanes(PartitionLane[] held)
    {
        public void Dispose()
        {
            for (var i = held.Length - 1; i >= 0; i--) held[i].Gate.Exit();
        }
    }

    /// <summary>Every lane's position (the version of its last record), read without locks.</summary>
    public long[] Positions()
    {
        var positions = new long[lanes.Length];
        for (var p = 0; p < lanes.Length; p++) positions[p] = lanes[p].Position;
        return positions;
    }

    /// <summary>How many records all lanes have appended (the sum of their sequences).</summary>
    public long TotalRecords()
    {
        long total = 0;
        foreach (var lane in lanes) total += lane.Sequence;
        return total;
    }
}
