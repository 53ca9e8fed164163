using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Engine.Replication;

/// <summary>
/// The seam between a replicated <see cref="Kv4Store"/> and the cluster node that runs it: the node gives each
/// partition its role and epoch, appends the primary's records on a backup, tells a primary what every in-sync
/// replica has (what readers may then see), and voids what a backup got from a primary that lost its place.
/// <code>
///   primary p3 (epoch 2)                               backup p3
///   PutAsync → lane appends #7 → observer.Appended ──▶ Apply(#7 bytes) → AfterApplyAsync (commit in sync) ─┐
///   Acknowledge(p3, 7) ◀────────── the node, once every in-sync backup acked #7 ◀──────────────────────────┘
///   reads and the feed show #7 from here on
/// </code>
/// </summary>
public sealed class StoreReplication
{
    private readonly Kv4Store store;

    internal StoreReplication(Kv4Store store) => this.store = store;

    public int PartitionCount => store.PartitionCount;

    /// <summary>Set once, before any partition gets a role: told of every append (in lane order) and every commit.</summary>
    public void Observe(IAppendObserver observer) => store.Observe(observer);

    public PartitionState State(int partition) => store.StateOf(partition);

    /// <summary>The partition's last sequence here (no lock: for a replication loop's hot path).</summary>
    public long Sequence(int partition) => store.LaneOf(partition).Sequence;

    /// <summary>The partition's last sequence on this node's disk.</summary>
    public long DurableSequence(int partition) => new VersionId(store.LaneOf(partition).DurableVersion).PartitionSequence;

    /// <summary>Whether this node's writes wait for the disk (sync): a backup then acknowledges what is on its disk.</summary>
    public bool Sync => store.Options.Durability == DurabilityMode.Sync;

    /// <summary>
    /// What this node does with the partition from now on. A primary takes <paramref name="epoch"/> for its records and
    /// shows everything it holds; a backup accepts <see cref="Apply"/> only; none serves nothing.
    /// </summary>
    public void Configure(int partition, PartitionRole role, int epoch) => store.Configure(partition, role, epoch);

    /// <summary>A primary: every in-sync replica has the records up to <paramref name="sequence"/>; readers may see them.</summary>
    public void Acknowledge(int partition, long sequence) => store.Acknowledge(partition, sequence);

    /// <summary>A backup: appends the primary's record (the bytes it got from <see cref="IAppendObserver.Appended"/>); returns its sequence.</summary>
    public long Apply(ReadOnlySpan<byte> framedRecord) => store.Apply(framedRecord);

    /// <summary>After a run of <see cref="Apply"/>: in sync mode, completes once they are on disk.</summary>
    public ValueTask AfterApplyAsync() => store.AfterApplyAsync();

    /// <summary>
    /// A backup or a partition without a role: voids its records after <paramref name="afterSequence"/>. Answers the
    /// sequence the partition went back to: <paramref name="afterSequence"/>, or 0 when a bucket drop among the voided
    /// records forced the whole partition out (it is then copied again from the start).
    /// </summary>
    public ValueTask<long> TruncateAsync(int partition, long afterSequence) => store.TruncateAsync(partition, afterSequence);

    /// <summary>
    /// Up to <paramref name="maxRecords"/> of the partition's records after <paramref name="afterSequence"/>, read back
    /// from the log (voided ones left out), and an opaque place to resume the next read from (0: none).
    /// </summary>
    public ValueTask<(PartitionRecords Records, long ResumeAddress)> ReadRecordsAsync(int partition, long afterSequence, long resumeAddress = 0,
        int maxRecords = 1024, int maxBytes = 4 << 20) =>
        store.ReadRecordsAsync(partition, afterSequence, resumeAddress, maxRecords, maxBytes);

    /// <summary>
    /// The partition's history start here: the last sequence it no longer holds as a record (compacted away, or taken as
    /// retained versions by a rebase); 0: it holds every record. <see cref="ReadRecordsAsync"/> serves only after it; a
    /// replica behind it rebases (see Kv4Store.Rebase.cs).
    /// </summary>
    public long HistoryStart(int partition) => store.HistoryStartSequence(partition);

    /// <summary>A primary about to hand out its retained versions: holds compaction off until disposed, so they stay one set.</summary>
    public ValueTask<IAsyncDisposable> HoldCompactionAsync(CancellationToken cancellationToken) => store.HoldCompactionAsync(cancellationToken);

    /// <summary>The partition's retained versions after <paramref name="afterSequence"/> up to its history start, in sequence order.</summary>
    public ValueTask<RetainedPage> ReadRetainedAsync(int partition, long afterSequence, int maxRecords = 1024, int maxBytes = 4 << 20) =>
        store.ReadRetainedAsync(partition, afterSequence, maxRecords, maxBytes);

    /// <summary>A backup about to rebase: voids its whole copy of the partition.</summary>
    public ValueTask ResetAsync(int partition) => store.ResetPartitionAsync(partition);

    /// <summary>A backup after <see cref="ResetAsync"/>: takes the primary's next retained version (from <see cref="ReadRetainedAsync"/>).</summary>
    public void ApplyRetained(ReadOnlySpan<byte> framedRecord) => store.ApplyRetained(framedRecord);

    /// <summary>A backup, every retained version taken: the partition goes on after <paramref name="sequence"/> in <paramref name="epochs"/>.</summary>
    public ValueTask<long> RebaseAsync(int partition, long sequence, IReadOnlyList<(int Epoch, long FirstSequence)> epochs) =>
        store.RebaseAsync(partition, sequence, epochs);

    /// <summary>The marker a backup of the cluster writes after a partition's retained versions: its records go on after <paramref name="sequence"/>.</summary>
    public static byte[] RebaseMarker(int partition, long sequence, IReadOnlyList<(int Epoch, long FirstSequence)> epochs)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        Kv4Store.RebaseMarker(partition, sequence, epochs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).WriteFramed(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Where a backup whose records end at (<paramref name="backupEpochs"/>, <paramref name="backupSequence"/>) parts from
    /// the primary's history (<paramref name="primaryEpochs"/>, <paramref name="primarySequence"/>): the last sequence the two
    /// share. Each epoch's records come from one primary, so two copies agree up to the end of the last epoch both hold,
    /// the lesser of where it ends on each. Example: backup [(1,1),(3,200)] at 210, primary [(1,1),(2,150),(4,300)] at 320:
    /// epoch 3 is not the primary's, whose epoch 2 the backup lacks; both hold epoch 1, ending at 149 on the primary: 149.
    /// </summary>
    public static long CommonSequence(IReadOnlyList<(int Epoch, long FirstSequence)> backupEpochs, long backupSequence,
        IReadOnlyList<(int Epoch, long FirstSequence)> primaryEpochs, long primarySequence)
    {
        if (backupEpochs.Count == 0 || backupSequence == 0) return 0;
        var epoch = backupEpochs[^1].Epoch;
        while (true)
        {
            if (EndOf(primaryEpochs, primarySequence, epoch) is not { } onPrimary) return 0;
            if (EndOf(backupEpochs, backupSequence, onPrimary.Epoch) is not { } onBackup) return 0;
            if (onBackup.Epoch == onPrimary.Epoch) return Math.Min(onPrimary.End, onBackup.End);
            epoch = onBackup.Epoch;
        }
    }

    /// <summary>The newest epoch at or below <paramref name="epoch"/> in a history, and the last sequence it covers.</summary>
    private static (int Epoch, long End)? EndOf(IReadOnlyList<(int Epoch, long FirstSequence)> epochs, long lastSequence, int epoch)
    {
        for (var i = epochs.Count - 1; i >= 0; i--)
        {
            if (epochs[i].Epoch > epoch) continue;
            var end = i + 1 < epochs.Count ? epochs[i + 1].FirstSequence - 1 : lastSequence;
            return (epochs[i].Epoch, end);
        }
        return null;
    }
}
