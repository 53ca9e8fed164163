using System.Buffers;
using System.Diagnostics;
using Kv4.Engine.Compaction;
using Kv4.Engine.Index;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Retention;
using Kv4.Engine.Rules;

namespace Kv4.Engine;

/// <summary>
/// Compaction: reclaims the space of versions outside retention (<see cref="StoreOptions.Retention"/>) by truncating the
/// log's head, whole segments at a time, after copying what is retained below the new head forward as carries.
/// <code>
///   1. scan [head, H) (H: the start of the segment the committed tail is in): the keys with records there, each
///      partition's newest version there, and how much of it is under a rule that keeps everything
///   2. each such key: walk its chain from the index; its rule (RetainedVersions) says how many of the newest are
///      retained; those below H are to be carried, and the pointer that first leads below H (the transition) noted
///   3. read the retained records below H in one scan; then, key by key under its lane, append a carry of each, oldest
///      first (chain order: a carry an earlier compaction made may sit above a newer version's original), chained to
///      the carry of the key's next older retained version (or to that version itself when it is above H); each pointer
///      from above H or from the index that led to a carried version is redirected to its carry, and an index entry
///      whose version was below H moves to its carry (if no write replaced it meanwhile)
///   4. commit; the new horizon (H, versions, redirects: transition → carry) is written to log/kv4.horizon and
///      published (readers no longer read below H); a checkpoint (its replay starts after the carries) is written
///   5. readers that started before the horizon was published finish; the log is truncated to H and committed
/// </code>
/// A crash before 4 leaves carries that recovery treats as their originals (same version: the higher address wins),
/// wasted space that the next compaction passes over; after 4 the horizon file and the carries say everything a reader
/// needs.
/// <para>
/// A replicated store (a cluster node) compacts its own log by the same rules: each replica of a partition keeps the
/// versions the rules retain, whatever its role. A version its primary has not yet acknowledged is retained and not
/// counted (a replica may still have to void it, and then the version before it is the latest again). A replica that
/// needs records its primary has reclaimed takes the partition's retained versions instead (Kv4Store.Rebase.cs).
/// </para>
/// </summary>
public sealed partial class Kv4Store
{
    private readonly SemaphoreSlim compactionGate = new(1, 1);
    private CompactionHorizon horizon = CompactionHorizon.None;
    // Log leases by generation (two, alternating): truncation waits for the readers of the generation before it published its horizon.
    private readonly int[] readersOfGeneration = new int[2];
    private int leaseGeneration;
    private TaskCompletionSource? olderReadersGone;
    private long compactions;
    private long reclaimedBytes;

    /// <summary>Where the log begins: everything below was reclaimed by compaction.</summary>
    public long LogBeginAddress => log.BeginAddress;

    /// <summary>The log's size: from its head to its tail, in bytes of address space.</summary>
    public long LogBytes => log.TailAddress - log.BeginAddress;

    /// <summary>How many compactions truncated the log since this store opened, and the bytes they reclaimed (address space).</summary>
    public (long Compactions, long ReclaimedBytes) CompactionTotals => (Interlocked.Read(ref compactions), Interlocked.Read(ref reclaimedBytes));

    /// <summary>The log address compaction truncated to (0: never).</summary>
    internal long HorizonAddress => Volatile.Read(ref horizon).Address;

    /// <summary>A chain pointer as readers follow it: itself, its carry, or 0 where the retained history ends.</summary>
    private long Follow(long pointer) => Volatile.Read(ref horizon).Resolve(pointer, out _);

    /// <summary>
    /// Runs one compaction now (see the type's comment); at most one runs at a time. Answers what it did; it does nothing
    /// (<see cref="CompactionResult.Skipped"/> says why) when the log has no whole segment
    /// behind the tail's, or when less than <paramref name="minReclaimFraction"/> of that range would be reclaimed.
    /// </summary>
    public async ValueTask<CompactionResult> CompactAsync(double minReclaimFraction = 0.25, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var watch = Stopwatch.StartNew();
        await compactionGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            return await CompactLockedAsync(minReclaimFraction, watch, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            compactionGate.Release();
        }
    }

    private async ValueTask<CompactionResult> CompactLockedAsync(double minReclaimFraction, Stopwatch watch, CancellationToken cancellationToken)
    {
        await commits.WaitDurableAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var begin = log.BeginAddress;
        var target = log.CommittedUntilAddress >> log.SegmentBits << log.SegmentBits;
        if (target <= begin) return CompactionResult.Skip("the log has no whole segment behind the tail's", watch.Elapsed);
        var old = Volatile.Read(ref horizon);
        var policy = options.Retention;
        var nowMs = options.Clock.GetUtcNow().ToUnixTimeMilliseconds();

        // 1. What lies below the target.
        var keys = new HashSet<(string Bucket, string Layer, string Path, string Key)>();
        var versions = new long[lanes.Count];
        Array.Copy(old.Versions, versions, Math.Min(old.Versions.Length, versions.Length));
        long keepAllBytes = 0, scanned = 0, reclaimedUntilMs = old.ReclaimedUntilMs;
        foreach (var item in log.Scan(begin, target, Volatile.Read(ref skipRanges)))
        {
            ThrowIfClosed();
            if (item.Record is not { } record) return CompactionResult.Skip($"damaged log record at address {item.Address}", watch.Elapsed);
            if (record.Partition < 0 || record.Partition >= lanes.Count) continue;
            scanned++;
            if (!record.IsCarry && !lanes[record.Partition].IsVoid(record.PartitionSequence, item.Address))
            {
                // A truncation voids what came after its sequence (a rebase's reset: everything), a rebase goes on after its.
                versions[record.Partition] = record.Op == Operation.Truncate
                    ? Math.Min(versions[record.Partition], record.PartitionSequence == 0 ? 0 : record.Version)
                    : Math.Max(versions[record.Partition], record.Version);
            }
            if (record.Op is not (Operation.Put or Operation.Delete)) continue;
            reclaimedUntilMs = Math.Max(reclaimedUntilMs, record.TimestampMs);
            keys.Add((record.Bucket, record.Layer, record.Path, record.Key));
            if (policy.RuleFor(record.Layer, record.Path).KeepsEverything) keepAllBytes += item.NextAddress - item.Address;
        }
        var range = target - begin;
        if (keepAllBytes > range * (1 - minReclaimFraction))
            return CompactionResult.Skip("too little of the log's head is outside retention", watch.Elapsed);

        // 2. Which records below the target are retained, and where each key's chain first leads below it.
        var carrySet = new HashSet<long>();
        var plans = new List<KeyPlan>();
        foreach (var (bucket, layer, path, key) in keys)
        {
            ThrowIfClosed();
            if (await PlanKeyAsync(bucket, layer, path, key, policy.RuleFor(layer, path), target, nowMs, cancellationToken).ConfigureAwait(false)
                is not { } plan) continue;
            plans.Add(plan);
            foreach (var (_, address) in plan.Retained)
                if (address < target) carrySet.Add(address);
        }
        // Carries are about the size of the records they copy: the range's average record.
        var carryBytes = carrySet.Count * (range / Math.Max(1, scanned));
        if (range - carryBytes < range * minReclaimFraction)
            return CompactionResult.Skip("too little of the log's head is outside retention", watch.Elapsed);

        // 3. The retained records below the target, read in one pass; then each key's carries, oldest first (a carry made
        // by an earlier compaction may sit above a newer version's original, so address order is not chain order).
        var records = new Dictionary<long, LogRecord>(carrySet.Count);
        foreach (var item in log.Scan(begin, target, Volatile.Read(ref skipRanges)))
            if (carrySet.Contains(item.Address) && item.Record is { } record) records[item.Address] = record;
        var carryOf = new Dictionary<long, long>(carrySet.Count);
        var redirects = new Dictionary<long, long>();
        foreach (var (from, to) in old.Redirects)
            if (to >= target) redirects[from] = to;
        var buffer = new ArrayBufferWriter<byte>(4096);
        foreach (var plan in plans)
        {
            ThrowIfClosed();
            var lane = lanes[PartitionOf(plan.Bucket, plan.Layer, plan.Path)];
            if (plan.Retained.Length == 0)
            {
                // Nothing retained and the head (a tombstone) below the target: the key leaves the index.
                lock (lane.Gate)
                    if (ReferenceEquals(index.Find(plan.Bucket, plan.Layer, plan.Path, plan.Key), plan.Head))
                        index.Remove(plan.Bucket, plan.Layer, plan.Path, plan.Key);
                continue;
            }
            lock (lane.Gate)
            {
                // A bucket dropped since the plan: its records must not come back after the drop.
                if (index.FindBucket(plan.Bucket) is not { } b || b.Incarnation != plan.Incarnation) continue;
                ThrowIfClosed();
                for (var i = plan.Retained.Length - 1; i >= 0; i--)
                {
                    var (_, address) = plan.Retained[i];
                    if (address >= target || !records.TryGetValue(address, out var record)) continue;
                    var older = i + 1 < plan.Retained.Length ? plan.Retained[i + 1].Address : -1;
                    var carry = new LogRecord
                    {
                        Partition = record.Partition, PartitionSequence = record.PartitionSequence, Epoch = record.Epoch, Format = LogRecord.CarryFormat,
                        TimestampMs = record.TimestampMs, Actor = record.Actor, Op = record.Op, Bucket = record.Bucket, Layer = record.Layer,
                        Path = record.Path, Key = record.Key, Value = record.Value, K2 = record.K2, K3 = record.K3, K4 = record.K4,
                        CarriedFrom = address,
                        // The next older retained version (its carry, or itself above the target); past the retained ones, the
                        // original's own pointer, which leads below the target to nothing: the history ends there.
                        PreviousAddress = older < 0 ? record.PreviousAddress : carryOf.TryGetValue(older, out var olderCarry) ? olderCarry : older,
                    };
                    carry.WriteFramed(buffer);
                    carryOf[address] = log.Append(buffer.WrittenSpan);
                }
                // Each pointer that leads from above the target (or from the index) to a carried version now leads to the carry.
                for (var i = 0; i < plan.Retained.Length; i++)
                {
                    var (pointer, address) = plan.Retained[i];
                    if (address >= target || (i > 0 && plan.Retained[i - 1].Address < target)) continue;
                    if (!carryOf.TryGetValue(address, out var carried)) continue;
                    redirects[pointer] = carried;
                    var head = plan.Head;
                    if (i == 0 && ReferenceEquals(index.Find(plan.Bucket, plan.Layer, plan.Path, plan.Key), head))
                    {
                        var moved = IndexEntry.Create(head.Value, head.Version, head.TimestampMs, head.Actor, carried, head.SecondaryKeys);
                        // Not yet shown (a replica's version its primary has not acknowledged): readers keep the one before it.
                        if (head.Version > lane.VisibleVersion) moved.KeepPrevious(head.Previous);
                        index.Set(plan.Bucket, plan.Layer, plan.Path, plan.Key, moved, maintainDerived: true);
                    }
                }
            }
        }

        // 4. Durable, then the horizon on disk, then shown to readers, then a checkpoint that replays from after the carries.
        await commits.WaitDurableAsync().ConfigureAwait(false);
        var next = new CompactionHorizon(target, versions, redirects, reclaimedUntilMs);
        next.Write(options.DataDirectory);
        Volatile.Write(ref horizon, next);
        await WriteCheckpointAsync(closing: false).ConfigureAwait(false);

        // 5. Truncation, once no reader that may still read below the target is left.
        await OlderReadersGoneAsync().ConfigureAwait(false);
        ThrowIfClosed();
        await log.TruncateUntilAsync(target).ConfigureAwait(false);
        var reclaimed = target - begin;
        Interlocked.Increment(ref compactions);
        Interlocked.Add(ref reclaimedBytes, reclaimed);
        return new CompactionResult(null, begin, target, reclaimed, carryOf.Count, carryBytes, keys.Count, watch.Elapsed);
    }

    /// <summary>
    /// What compaction does with one key: its retained versions, newest first, each as the pointer that led to it (the
    /// index's address for the first) and where that led; those below the target are carried. Empty: nothing is retained
    /// and the head, a tombstone below the target, leaves the index.
    /// </summary>
    private sealed record KeyPlan(string Bucket, string Layer, string Path, string Key, long Incarnation, IndexEntry Head,
        (long Pointer, long Address)[] Retained);

    /// <summary>
    /// Walks the key's chain from its index entry just far enough to know how many versions its rule retains (every one,
    /// for a rule that keeps everything); null when nothing of it below <paramref name="target"/> needs anything done.
    /// </summary>
    private async ValueTask<KeyPlan?> PlanKeyAsync(string bucket, string layer, string path, string key, RetentionRule rule, long target, long nowMs,
        CancellationToken cancellationToken)
    {
        if (index.FindBucket(bucket) is not { } b || index.Find(bucket, layer, path, key) is not { } head) return null;
        var owner = new ChainOwner(bucket, layer, path, key);
        var stamps = new List<VersionStamp>();
        var chain = new List<(long Pointer, long Address)>();
        var ageHorizonMs = rule.MaxAgeSeconds is { } seconds ? nowMs - seconds * 1000 : long.MaxValue;
        // Versions not yet acknowledged (a replica's newest) are retained beyond the rule's count: they may still be voided.
        var shown = visibility == VisibilityGate.Acknowledged ? lanes[new VersionId(head.Version).Partition].VisibleVersion : long.MaxValue;
        var unacknowledged = 0;
        var pointer = head.LogAddress;
        var newer = long.MaxValue;
        var generation = EnterLog();
        try
        {
            while (pointer != 0)
            {
                var address = Follow(pointer);
                if (address == 0) break;
                var record = await ReadChainRecordAsync(owner, address, newer, cancellationToken).ConfigureAwait(false);
                chain.Add((pointer, address));
                if (record.Version > shown && stamps.Count == 0) unacknowledged++;
                else stamps.Add(new VersionStamp(record.TimestampMs, record.Op == Operation.Delete));
                newer = record.Version;
                pointer = record.PreviousAddress;
                // Far enough: older versions would change neither the count nor the age bound, so none of them is retained.
                if (!rule.KeepsEverything && stamps.Count >= (rule.MaxVersions ?? 0) && record.TimestampMs <= ageHorizonMs) break;
            }
        }
        finally
        {
            ExitLog(generation);
        }
        var retained = unacknowledged + RetainedVersions.Count(stamps, rule, nowMs);
        if (retained == 0)
            return chain.Count > 0 && chain[0].Address < target && !head.IsLive ? new KeyPlan(bucket, layer, path, key, b.Incarnation, head, []) : null;
        var kept = chain.GetRange(0, retained);
        return kept.Exists(c => c.Address < target) ? new KeyPlan(bucket, layer, path, key, b.Incarnation, head, [.. kept]) : null;
    }

    /// <summary>Completes once every log reader that entered before this call has left (new ones do not hold it up).</summary>
    private Task OlderReadersGoneAsync()
    {
        lock (logLeases)
        {
            var older = leaseGeneration & 1;
            leaseGeneration++;
            if (readersOfGeneration[older] == 0) return Task.CompletedTask;
            olderReadersGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
            return olderReadersGone.Task;
        }
    }

    /// <summary>
    /// The feed's check, before each replay: null when a reader at <paramref name="cursor"/> has lost nothing to
    /// compaction; else the cursor it can resume from (its own, raised to the horizon in each partition it is behind in).
    /// </summary>
    private FeedCursor? ResumePointAfterCompaction(FeedCursor cursor)
    {
        var current = Volatile.Read(ref horizon);
        FeedCursor? resume = null;
        for (var p = 0; p < lanes.Count; p++)
        {
            var lane = lanes[p];
            var lost = Math.Max(current.VersionOf(p), lane.BaseVersion);
            if (lost == 0) continue;
            if (lane.ResumeAfterSequence(cursor[p]) >= new VersionId(lost).PartitionSequence) continue;
            resume ??= cursor.Clone();
            resume.Set(p, Math.Max(resume[p], lost));
        }
        return resume;
    }
}

/// <summary>
/// What one compaction did: the log's head moved from <see cref="FromAddress"/> to <see cref="ToAddress"/>, reclaiming
/// <see cref="ReclaimedBytes"/>, after <see cref="Carried"/> retained records (about <see cref="CarriedBytes"/>) were
/// copied forward; <see cref="Keys"/> keys had records there. <see cref="Skipped"/>: why nothing was done (null: done).
/// </summary>
public sealed record CompactionResult(string? Skipped, long FromAddress, long ToAddress, long ReclaimedBytes, long Carried, long CarriedBytes,
    long Keys, TimeSpan Duration)
{
    internal static CompactionResult Skip(string why, TimeSpan duration) => new(why, 0, 0, 0, 0, 0, 0, duration);
}
