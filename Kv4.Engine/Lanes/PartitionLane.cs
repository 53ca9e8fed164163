using Kv4.Engine.Model;

namespace Kv4.Engine.Lanes;

/// <summary>
/// One partition's writer: the unit of order. A write takes its partition's lane, checks its condition, takes the
/// lane's next sequence, appends its record to the shared log and publishes it to the index and the feed, all
/// under the lane's lock; writes to other partitions take other lanes and never wait for it. Within a lane, log
/// addresses grow with sequences (the append happens under the lock), which is what recovery checks and what a
/// feed reader or a replica of the partition relies on.
/// <code>
///   two lanes after  put p0 a/x · put p1 b/y · put p0 a/x · delete p1 b/y     (epoch 0; v(p, s) = VersionId.Of(0, p, s))
///
///   log:     @64 [p0 #1 a/x]  @160 [p1 #1 b/y]  @256 [p0 #2 a/x prev@64]  @352 [p1 #2 b/y del prev@160]
///   lane 0:  Sequence 2  Position v(0,2)  sparse [(1, @64)]     a/x → v(0,2) (chain @256 → @64)
///   lane 1:  Sequence 2  Position v(1,2)  sparse [(1, @160)]    b/y → tombstone v(1,2) (chain @352 → @160)
/// </code>
/// The epoch is 0 on a new store and rises at an open after an unclean stop (see Kv4Store.Open); a cluster will
/// raise it when the partition gets a new primary, so versions of the new term sort after every version of the old.
/// </summary>
internal sealed class PartitionLane(int partition)
{
    private long sequence;
    private long lastVersion;

    public int Partition { get; } = partition;

    /// <summary>Held while a write of this partition checks, appends and publishes.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The epoch new records get; see <see cref="EnterEpoch"/>.</summary>
    public int Epoch { get; private set; }

    /// <summary>Each epoch the lane has written in, with the first sequence of it, oldest first.</summary>
    public List<(int Epoch, long FirstSequence)> Epochs { get; } = [];

    /// <summary>Replay and open: from now on records get <paramref name="epoch"/>, starting at the next sequence.</summary>
    public void EnterEpoch(int epoch)
    {
        if (epoch <= Epoch && Epochs.Count > 0) return;
        Epoch = epoch;
        var first = Sequence + 1;
        if (Epochs.Count > 0 && Epochs[^1].FirstSequence == first) Epochs[^1] = (epoch, first);
        else Epochs.Add((epoch, first));
    }

    /// <summary>A checkpoint's epochs, restored in order.</summary>
    public void RestoreEpoch(int epoch) => Epoch = Math.Max(Epoch, epoch);

    /// <summary>
    /// Where a feed reader at <paramref name="position"/> must read this partition from: after that sequence, or
    /// earlier if a later epoch began before it (its records may have taken sequences the reader saw in an epoch a
    /// crash cut short). Example: epochs [(0, 1), (1, 1030)]; a reader at (0, 5000) reads after 1029.
    /// </summary>
    public long ResumeAfterSequence(long position)
    {
        var at = new VersionId(position);
        var after = at.PartitionSequence;
        foreach (var (epoch, first) in Epochs)
            if (epoch > at.Epoch) after = Math.Min(after, first - 1);
        return after;
    }

    /// <summary>The sequence of the partition's last appended record (0: none).</summary>
    public long Sequence
    {
        get => Volatile.Read(ref sequence);
        set => Volatile.Write(ref sequence, value);
    }

    /// <summary>The version of the partition's last record (0: none): what a feed cursor holds for it.</summary>
    public long Position
    {
        get => Volatile.Read(ref lastVersion);
        set => Volatile.Write(ref lastVersion, value);
    }


    public SequenceIndex Sparse { get; } = new();

    /// <summary>Records appended since the last checkpoint (lane-local, so writers of different lanes share no counter).</summary>
    public long SinceCheckpoint;
}
