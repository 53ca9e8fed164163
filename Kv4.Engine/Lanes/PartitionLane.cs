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
/// The epoch is 0 on a new store and rises at an open after an unclean stop (see Kv4Store.Open); in a replicated
/// store the cluster sets it when the partition gets a new primary, so versions of the new term sort after every
/// version of the old.
///
/// Visibility. A reader sees an entry only up to <see cref="VisibleVersion"/>: everything with durable reads off,
/// the committed records with durable reads on, the acknowledged ones (every in-sync replica has them) in a
/// replicated store. A new entry keeps the one it replaced until it is shown (<see cref="AwaitingVisibility"/>).
///
/// Truncations. A replica that held records its old primary never got acknowledged voids them: the lane goes back
/// to sequence s and notes (s, address of the marker) in <see cref="Truncations"/>, so a record of this partition
/// below that address and after s is dead to every reader of the log (feed replay, catch-up of another replica).
/// <code>
///   records p3: #1 @100, #2 @200, #3 @300 (e1)      truncate after 1      marker @400, Truncations [(1, @400)]
///   then #2 @500, #3 @600 (e2)                      dead: #2 @200, #3 @300 (after 1, below @400); alive: the rest
/// </code>
/// </summary>
internal sealed class PartitionLane(int partition)
{
    private long sequence;
    private long lastVersion;
    private long visibleVersion;
    private long durableVersion;
    private TaskCompletionSource visibleMoved = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Partition { get; } = partition;

    /// <summary>Held while a write of this partition checks, appends and publishes.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Who may append to it: every lane of a single store is <see cref="PartitionRole.Solo"/>.</summary>
    public PartitionRole Role { get; set; } = PartitionRole.Solo;

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

    /// <summary>A restore, before the lane's first record: the epochs are the backup's, not those a new store starts in.</summary>
    public void ForgetEpochs()
    {
        if (Sequence != 0) throw new InvalidOperationException($"partition {Partition} has records: its epochs stay");
        Epochs.Clear();
        Epoch = 0;
    }

    /// <summary>A checkpoint's epochs, restored in order.</summary>
    public void RestoreEpoch(int epoch) => Epoch = Math.Max(Epoch, epoch);

    /// <summary>The epoch of the record with <paramref name="partitionSequence"/> (0 before the first).</summary>
    public int EpochOf(long partitionSequence)
    {
        var epoch = 0;
        foreach (var (e, first) in Epochs)
        {
            if (first > partitionSequence) break;
            epoch = e;
        }
        return epoch;
    }

    /// <summary>The version of this lane's record <paramref name="partitionSequence"/> (0 for none).</summary>
    public long VersionOf(long partitionSequence) =>
        partitionSequence <= 0 ? 0 : VersionId.Of(EpochOf(partitionSequence), Partition, partitionSequence).Value;

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

    /// <summary>The newest version readers may see (see the type's comment).</summary>
    public long VisibleVersion => Volatile.Read(ref visibleVersion);

    /// <summary>The version of the lane's newest record that is committed to this node's disk (kept when visibility is gated).</summary>
    public long DurableVersion => Volatile.Read(ref durableVersion);

    /// <summary>Entries that keep the version they replaced until they are shown, in version order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<Kv4.Engine.Index.IndexEntry> AwaitingVisibility { get; } = new();

    /// <summary>Records appended and not yet committed (address, version), in order; drained by the commit hook.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(long Address, long Version)> AwaitingCommit { get; } = new();

    /// <summary>The commit hook: every record of the lane below <paramref name="committedAddress"/> is on disk.</summary>
    public long NoteCommitted(long committedAddress)
    {
        var durable = DurableVersion;
        while (AwaitingCommit.TryPeek(out var item) && item.Address < committedAddress && AwaitingCommit.TryDequeue(out item))
            durable = item.Version;
        Volatile.Write(ref durableVersion, durable);
        return durable;
    }

    /// <summary>
    /// Readers may now see every version up to <paramref name="version"/>: moved first, then the entries it covers let go
    /// of what they replaced (a reader that finds no previous version reads the visible version again), then waiters wake.
    /// </summary>
    public void Show(long version)
    {
        long current;
        do
        {
            current = VisibleVersion;
            if (version <= current) return;
        }
        while (Interlocked.CompareExchange(ref visibleVersion, version, current) != current);
        while (AwaitingVisibility.TryPeek(out var entry) && entry.Version <= version && AwaitingVisibility.TryDequeue(out entry))
            entry.ForgetPrevious();
        Interlocked.Exchange(ref visibleMoved, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Open: everything recovered is on disk and shown.</summary>
    public void Opened()
    {
        Volatile.Write(ref durableVersion, Position);
        ResetVisibility(Position);
    }

    /// <summary>Open, promotion and truncation: visibility set to exactly <paramref name="version"/> (also downwards).</summary>
    public void ResetVisibility(long version)
    {
        Volatile.Write(ref visibleVersion, version);
        Volatile.Write(ref durableVersion, Math.Min(DurableVersion, version));
        while (AwaitingVisibility.TryDequeue(out var entry)) entry.ForgetPrevious();
        Interlocked.Exchange(ref visibleMoved, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Completes once <paramref name="version"/> is visible, or when <paramref name="cancellationToken"/> fires.</summary>
    public async Task WaitVisibleAsync(long version, CancellationToken cancellationToken)
    {
        while (VisibleVersion < version)
        {
            var moved = Volatile.Read(ref visibleMoved).Task;
            if (VisibleVersion >= version) return;
            await moved.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Each truncation of this lane: (records after this sequence, written below this address, are void).</summary>
    public List<(long AfterSequence, long BeforeAddress)> Truncations { get; } = [];

    /// <summary>Whether the record of this lane with <paramref name="partitionSequence"/> at <paramref name="address"/> was voided.</summary>
    public bool IsVoid(long partitionSequence, long address)
    {
        foreach (var (after, before) in Truncations)
            if (partitionSequence > after && address < before) return true;
        return false;
    }

    /// <summary>
    /// Where the lane's history was taken from a compacted primary as retained versions only (<see cref="Rebase"/>): the
    /// version it went on after (0: never). A feed reader before it has lost events, as before a compaction horizon.
    /// </summary>
    public long BaseVersion { get; set; }

    /// <summary>The sequence of the newest retained version taken since the lane was reset for a rebase (they come in order).</summary>
    public long BaseApplied { get; set; }

    /// <summary>
    /// A rebase, after its retained versions were taken: the lane goes on after <paramref name="sequence"/>, in the
    /// primary's <paramref name="epochs"/> (those begun by then).
    /// </summary>
    public void Rebase(long sequence, IReadOnlyList<(int Epoch, long FirstSequence)> epochs)
    {
        Epochs.Clear();
        foreach (var e in epochs)
            if (e.FirstSequence <= sequence) Epochs.Add(e);
        Epoch = Epochs.Count > 0 ? Epochs[^1].Epoch : 0;
        Sequence = sequence;
        Position = VersionOf(sequence);
        BaseVersion = Position;
        BaseApplied = 0;
    }

    /// <summary>The sequence of the lane's newest bucket drop (a truncation past it cannot be undone entry by entry).</summary>
    public long LastDropSequence { get; set; }

    /// <summary>Voids the records after <paramref name="afterSequence"/>: the lane, its epochs and its sparse index go back there.</summary>
    public void TruncateAfter(long afterSequence, long markerAddress)
    {
        Truncations.Add((afterSequence, markerAddress));
        Sequence = afterSequence;
        Position = VersionOf(afterSequence);
        Epochs.RemoveAll(e => e.FirstSequence > afterSequence);
        Epoch = Epochs.Count > 0 ? Epochs[^1].Epoch : 0;
        Sparse.TruncateAfter(afterSequence);
        if (LastDropSequence > afterSequence) LastDropSequence = 0;
        if (new VersionId(BaseVersion).PartitionSequence > afterSequence) BaseVersion = 0;
        BaseApplied = 0;
        while (AwaitingCommit.TryDequeue(out _)) { }
        ResetVisibility(Math.Min(VisibleVersion, Position));
    }

    public SequenceIndex Sparse { get; } = new();

    /// <summary>Records appended since the last checkpoint (lane-local, so writers of different lanes share no counter).</summary>
    public long SinceCheckpoint;
}
