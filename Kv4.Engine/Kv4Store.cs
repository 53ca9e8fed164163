using System.Buffers;
using System.Collections.Concurrent;
using Kv4.Engine.Compaction;
using Kv4.Engine.Feed;
using Kv4.Engine.Index;
using Kv4.Engine.Lanes;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Partitioning;
using Kv4.Engine.Recovery;
using Kv4.Engine.Replication;
using Kv4.Engine.Rules;

namespace Kv4.Engine;

/// <summary>
/// The versioned four-dimensional store: JSON values at (bucket, layer, path, key), every write
/// appended to a durable log as a new version. Thread-safe. Reads of the latest value are served
/// from the in-memory index and never touch disk; history is read back from the log.
/// All validation (see <see cref="Rules.AddressRules"/>, <see cref="Rules.JsonValueRules"/>) happens
/// before anything is appended: a refused call throws <see cref="Rules.EngineException"/> and writes nothing.
/// </summary>
/// <remarks>
/// Each partition is a lane (<see cref="PartitionLane"/>): a write takes its partition's lane lock, checks the
/// condition against the index, takes the lane's next sequence, appends to the shared log, publishes the new
/// immutable index entry and offers the change to the feed. Writes to different partitions run in parallel. The
/// lock is released before waiting for durability, so in sync mode concurrent writers of every lane share one
/// commit. Readers never take a lock; with durable reads they see a version only once its record is committed.
/// See docs/architecture.md.
/// </remarks>
public sealed partial class Kv4Store : IAsyncDisposable, IDisposable
{
    private readonly StoreOptions options;
    private readonly RecordLog log;
    private readonly StoreIndex index;
    private readonly PartitionMap partitionMap;
    private readonly LaneSet lanes;
    private readonly ChangeFeed feed;
    private readonly GroupCommit commits;
    private readonly VisibilityGate visibility;
    private readonly SemaphoreSlim checkpointGate = new(1, 1);
    private readonly long checkpointCheckStride;
    // Scratch space of the thread that appends (used only while it holds a lane, with no await in between).
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_recordBuffer;
    [ThreadStatic] private static LogRecord? t_scratchRecord;
    private AddressRange[] skipRanges;
    private int checkpointRunning;
    private Task? backgroundCheckpoint;
    private volatile bool closed;
    // Readers of the log (history, feed replay) hold a lease; dispose waits for them before closing FasterLog.
    private readonly Lock logLeases = new();
    private int logReaders;
    private TaskCompletionSource? logReadersGone;

    private Kv4Store(StoreOptions options, RecordLog log, RecoveredState recovered)
    {
        this.options = options;
        this.log = log;
        index = recovered.Index;
        partitionMap = new PartitionMap(options.PartitionCount);
        lanes = recovered.Lanes;
        skipRanges = [.. recovered.SkipRanges];
        lanes[0].SinceCheckpoint = recovered.ReplayedRecords;
        checkpointCheckStride = Math.Clamp(options.CheckpointEveryRecords / lanes.Count, 1, 256);
        visibility = options.Replicated ? VisibilityGate.Acknowledged
            : options.DurableReads ?? options.Durability == DurabilityMode.Sync ? VisibilityGate.Committed : VisibilityGate.Appended;
        // What was recovered is on disk; in a replicated store a partition's role decides later what is shown.
        foreach (var lane in lanes.All)
        {
            lane.Opened();
            if (options.Replicated) lane.Role = PartitionRole.None;
        }
        commits = new GroupCommit(log, options.Durability == DurabilityMode.Interval ? Math.Max(1, options.CommitIntervalMs) : 0,
            options.CommitObserved, visibility == VisibilityGate.Appended ? null : NoteCommitted);
        feed = new ChangeFeed(lanes, () => log.TailAddress, commits.WaitDurableAsync,
            visibility == VisibilityGate.Appended ? null : WaitVisibleAsync, ReplayStart, ReadRecordBatch, ResumePointAfterCompaction);
        Replication = options.Replicated ? new StoreReplication(this) : null;
    }

    /// <summary>Opens (or creates) the store in options.DataDirectory, recovering the index from the last checkpoint plus the log after it.</summary>
    public static Kv4Store Open(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PartitionCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.PartitionCount, VersionId.MaxPartitions);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxValueBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.CheckpointEveryRecords, 1);
        Directory.CreateDirectory(options.DataDirectory);
        var log = RecordLog.Open(options.DataDirectory, options.MaxValueBytes, options.LogMemorySizeBits, options.LogSegmentSizeMB);
        try
        {
            var horizon = CompactionHorizon.Read(options.DataDirectory);
            var recovered = StoreRecovery.Run(options.DataDirectory, log, options.PartitionCount, horizon);
            if (!recovered.CleanStop && !options.Replicated)
            {
                // Records shown before the stop may be gone, and their sequences will be taken again: a new epoch
                // makes every version written from now on sort after every one shown before (see ChangeFeed).
                foreach (var lane in recovered.Lanes.All) lane.EnterEpoch(lane.Epoch + 1);
            }
            var store = new Kv4Store(options, log, recovered) { OpenedWith = (recovered.ReplayedRecords, recovered.Damaged), horizon = horizon };
            if (recovered.Damaged is { } damaged)
            {
                // Before anything new is appended: the range goes into the damage ledger (which outlives any
                // checkpoint) and a checkpoint starts replay after it, so the next open neither trips over it
                // nor loses what is written after it.
                DamageLedger.Append(options.DataDirectory, damaged);
                store.WriteCheckpointAsync(closing: true).GetAwaiter().GetResult();
            }
            if (horizon.Address > log.BeginAddress)
            {
                // A compaction stopped between its horizon and its truncation: finish it, after a checkpoint that replays from above it.
                store.WriteCheckpointAsync(closing: true).GetAwaiter().GetResult();
                log.TruncateUntilAsync(horizon.Address).AsTask().GetAwaiter().GetResult();
            }
            return store;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    public StoreOptions Options => options;

    /// <summary>What the last open found: records replayed after the checkpoint, and a damaged log range it dropped.</summary>
    internal (long ReplayedRecords, AddressRange? Damaged) OpenedWith { get; private init; }

    /// <summary>The address after the last appended record (for tests and tools that inspect the log file).</summary>
    internal long LogTailAddress => log.TailAddress;

    /// <summary>Where the log's durable part ends: everything below was committed.</summary>
    internal long LogCommittedAddress => log.CommittedUntilAddress;

    internal long FeedOverflows => feed.Overflows;

    internal long LogCommits => commits.Commits;

    /// <summary>Whether reads and the feed show only committed versions (<see cref="StoreOptions.DurableReads"/>), or acknowledged ones.</summary>
    public bool DurableReads => visibility != VisibilityGate.Appended;

    /// <summary>How many records every partition has appended, together (0 for an empty store).</summary>
    public long AppendedRecords => lanes.TotalRecords();

    /// <summary>A partition's epoch and last sequence (for tests, tools and, later, replication).</summary>
    public (int Epoch, long Sequence) PartitionPosition(int partition) => (lanes[partition].Epoch, lanes[partition].Sequence);

    /// <summary>The feed cursor of this instant: a read after it gets only the changes made from now on.</summary>
    public FeedCursor CurrentCursor()
    {
        ThrowIfClosed();
        var cursor = FeedCursor.Beginning(lanes.Count);
        var positions = lanes.Positions();
        for (var p = 0; p < positions.Length; p++) cursor.Set(p, positions[p]);
        return cursor;
    }

    /// <summary>Appends a version. <paramref name="json"/> is validated and stored compact.</summary>
    public async ValueTask<WriteResult> PutAsync(EntryAddress address, ReadOnlyMemory<byte> json, string actor,
        WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var (bucket, layer, path, key) = Validate(address);
        ArgumentNullException.ThrowIfNull(actor);
        ValidateSecondaryKeys(secondaryKeys);
        var value = JsonValueRules.ValidateAndCompact(json.Span, options.MaxValueBytes);
        cancellationToken.ThrowIfCancellationRequested();
        var lane = lanes[partitionMap.PartitionOf(bucket, layer, path)];

        WriteResult result;
        EngineException? refusal;
        IndexEntry? current;
        lock (lane.Gate)
        {
            ThrowIfClosed();
            ThrowIfNotWritable(lane);
            current = index.Find(bucket, layer, path, key);
            refusal = ConditionRefusal(condition, current);
            if (refusal is null)
            {
                CheckSecondaryKeysFree(bucket, layer, path, key, secondaryKeys);
                result = AppendLocked(lane, Operation.Put, bucket, layer, path, key, value, secondaryKeys, actor, current);
            }
            else result = default;
        }
        if (refusal is not null) await RefuseAsync(refusal, current, lane).ConfigureAwait(false);
        await AfterAppendAsync(lane).ConfigureAwait(false);
        return result;
    }

    /// <summary>Appends a tombstone. Returns Applied=false (and appends nothing) when there was no live entry and no condition.</summary>
    public async ValueTask<WriteResult> DeleteAsync(EntryAddress address, string actor,
        WriteCondition condition = default, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var (bucket, layer, path, key) = Validate(address);
        ArgumentNullException.ThrowIfNull(actor);
        cancellationToken.ThrowIfCancellationRequested();
        var lane = lanes[partitionMap.PartitionOf(bucket, layer, path)];

        WriteResult result;
        EngineException? refusal;
        IndexEntry? current;
        lock (lane.Gate)
        {
            ThrowIfClosed();
            ThrowIfNotWritable(lane);
            current = index.Find(bucket, layer, path, key);
            refusal = ConditionRefusal(condition, current);
            if (refusal is null && current?.IsLive != true) return default;
            result = refusal is null ? AppendLocked(lane, Operation.Delete, bucket, layer, path, key, null, default, actor, current) : default;
        }
        if (refusal is not null) await RefuseAsync(refusal, current, lane).ConfigureAwait(false);
        await AfterAppendAsync(lane).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Tombstones every live entry at <paramref name="pathPrefix"/> and below (by whole segments), at one instant:
    /// it holds every lane, since the subtree's paths are spread over the partitions. Returns how many. With
    /// <paramref name="partitions"/> only the paths of those partitions (a cluster asks each primary for its own).
    /// </summary>
    public async ValueTask<long> DeleteTreeAsync(string bucket, string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default) =>
        await DeleteTreeAsync(bucket, layer, pathPrefix, actor, null, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="DeleteTreeAsync(string, string, string, string, CancellationToken)"/>
    public async ValueTask<long> DeleteTreeAsync(string bucket, string layer, string pathPrefix, string actor, PartitionSet? partitions,
        CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        AddressRules.ValidateBucket(bucket);
        AddressRules.ValidateLayer(layer);
        var prefix = AddressRules.NormalizePath(pathPrefix);
        ArgumentNullException.ThrowIfNull(actor);
        cancellationToken.ThrowIfCancellationRequested();

        long deleted = 0;
        using (lanes.EnterAll())
        {
            ThrowIfClosed();
            foreach (var lane in lanes.All)
                if (partitions is null || partitions.Contains(lane.Partition)) ThrowIfNotWritable(lane);
            if (index.FindNode(bucket, layer, prefix) is { } start)
            {
                // Collected first (sorted, so the tombstones' order is reproducible), appended after.
                var victims = new List<(PathNode Node, string Key, IndexEntry Entry)>();
                var pending = new Stack<PathNode>();
                pending.Push(start);
                while (pending.TryPop(out var node))
                {
                    if (node.LiveInSubtree <= 0) continue;
                    if (node.LiveKeys > 0 && node.Entries is { } entries
                        && (partitions is null || partitions.Contains(partitionMap.PartitionOf(bucket, layer, node.Path))))
                        foreach (var (key, entry) in entries)
                            if (entry.IsLive) victims.Add((node, key, entry));
                    if (node.Children is { } children)
                        foreach (var child in children.Values) pending.Push(child);
                }
                victims.Sort(static (a, b) =>
                {
                    var byPath = string.CompareOrdinal(a.Node.Path, b.Node.Path);
                    return byPath != 0 ? byPath : string.CompareOrdinal(a.Key, b.Key);
                });
                foreach (var (node, key, entry) in victims)
                {
                    var lane = lanes[partitionMap.PartitionOf(bucket, layer, node.Path)];
                    AppendLocked(lane, Operation.Delete, bucket, layer, node.Path, key, null, default, actor, entry);
                    deleted++;
                }
            }
        }
        if (deleted > 0) await AfterAppendAsync(null).ConfigureAwait(false);
        return deleted;
    }

    /// <summary>Drops a bucket: all its layers, entries and their histories leave the index. Returns how many live entries it held.</summary>
    public async ValueTask<long> DeleteBucketAsync(string bucket, string actor, CancellationToken cancellationToken = default) =>
        await DeleteBucketAsync(bucket, actor, null, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// <see cref="DeleteBucketAsync(string, string, CancellationToken)"/>; in a replicated store, one drop record in each
    /// partition of <paramref name="partitions"/> (null: every partition), each dropping the bucket's entries there.
    /// </summary>
    public async ValueTask<long> DeleteBucketAsync(string bucket, string actor, PartitionSet? partitions, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        AddressRules.ValidateBucket(bucket);
        ArgumentNullException.ThrowIfNull(actor);
        cancellationToken.ThrowIfCancellationRequested();
        if (options.Replicated) return await DropBucketPartsAsync(bucket, actor, partitions).ConfigureAwait(false);
        var lane = lanes[partitionMap.PartitionOf(bucket, "", "")];

        // Every lane: the bucket's paths are in every partition, and none may be written while it leaves the index.
        long live;
        using (lanes.EnterAll())
        {
            ThrowIfClosed();
            if (index.FindBucket(bucket) is null) return 0;
            live = index.FindBucket(bucket)?.LiveEntries ?? 0;
            AppendLocked(lane, Operation.DropBucket, bucket, "", "", "", null, default, actor, null);
            index.DropBucket(bucket);
        }
        await AfterAppendAsync(lane).ConfigureAwait(false);
        return live;
    }

    /// <summary>The latest value of a live entry, from memory.</summary>
    public bool TryGetLatest(EntryAddress address, out StoredValue value)
    {
        ThrowIfClosed();
        // The hottest read: only valid addresses with normalized paths ever enter the index, so a hit needs no
        // validation (it cost more than the four lookups). A miss validates, so bad input still gets its typed
        // error, and looks again only if normalizing changed the path ("a/b/" finds "a/b").
        var entry = address is { Bucket: not null, Layer: not null, Path: not null, Key: not null }
            ? index.Find(address.Bucket, address.Layer, address.Path, address.Key)
            : null;
        if (entry is null)
        {
            var (bucket, layer, path, key) = Validate(address);
            if (!ReferenceEquals(path, address.Path)) entry = index.Find(bucket, layer, path, key);
        }
        entry = Visible(entry);
        if (entry is { IsLive: true })
        {
            value = entry.ToStoredValue();
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>The live entry at (bucket, layer, path) whose secondary key in <paramref name="slot"/> is <paramref name="secondaryKey"/>.</summary>
    public bool TryGetBySecondaryKey(string bucket, string layer, string path, SecondaryKeySlot slot, string secondaryKey,
        out string key, out StoredValue value)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, path);
        AddressRules.ValidateKey(secondaryKey);
        if (slot is not (SecondaryKeySlot.K2 or SecondaryKeySlot.K3 or SecondaryKeySlot.K4))
            throw new ArgumentOutOfRangeException(nameof(slot));
        var node = index.FindNode(bucket, layer, normalized);
        if (node?.SecondaryOwner(slot, secondaryKey) is { } owner
            && Visible(node.Find(owner)) is { IsLive: true } entry
            && entry.SecondaryKeys[slot] == secondaryKey)
        {
            key = owner;
            value = entry.ToStoredValue();
            return true;
        }
        key = "";
        value = default;
        return false;
    }

    /// <summary>The secondary keys of the live entry's latest version.</summary>
    public bool TryGetSecondaryKeys(EntryAddress address, out SecondaryKeys secondaryKeys)
    {
        ThrowIfClosed();
        var (bucket, layer, path, key) = Validate(address);
        if (Visible(index.Find(bucket, layer, path, key)) is { IsLive: true } entry)
        {
            secondaryKeys = entry.SecondaryKeys;
            return true;
        }
        secondaryKeys = default;
        return false;
    }

    /// <summary>The live keys at exactly this path, sorted ordinally.</summary>
    public IReadOnlyList<string> ListKeys(string bucket, string layer, string path)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, path);
        if (index.FindNode(bucket, layer, normalized)?.Entries is not { } entries) return [];
        var keys = new List<string>();
        foreach (var (key, entry) in entries)
            if (Visible(entry)?.IsLive == true) keys.Add(key);
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <summary>
    /// One page of <see cref="ListKeys(string, string, string)"/>: the first <paramref name="max"/> live keys that sort
    /// (ordinally) after <paramref name="after"/> (null: from the first). Example: keys a, b, c, d with after "b"
    /// and max 1 give [c]. Each page looks at every key of the path once but sorts only what it returns.
    /// </summary>
    public IReadOnlyList<string> ListKeys(string bucket, string layer, string path, string? after, int max)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, path);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        if (index.FindNode(bucket, layer, normalized)?.Entries is not { } entries) return [];
        return SmallestAfter(entries.Where(e => Visible(e.Value)?.IsLive == true).Select(static e => e.Key), after, max);
    }

    /// <summary>One page of <see cref="ListPaths(string, string, string, int?)"/>: the first <paramref name="max"/> paths after <paramref name="after"/>.</summary>
    public IReadOnlyList<string> ListPaths(string bucket, string layer, string prefix, int? maxDepth, string? after, int max) =>
        ListPaths(bucket, layer, prefix, maxDepth, after, max, null);

    /// <summary>A page of paths, only of <paramref name="partitions"/> (null: all).</summary>
    public IReadOnlyList<string> ListPaths(string bucket, string layer, string prefix, int? maxDepth, string? after, int max, PartitionSet? partitions)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        if (maxDepth < 0 || index.FindLayer(bucket, layer) is not { } tree) return [];
        var paths = tree.EnumeratePaths(normalized, maxDepth);
        if (partitions is not null) paths = paths.Where(path => partitions.Contains(partitionMap.PartitionOf(bucket, layer, path)));
        return SmallestAfter(paths, after, max);
    }

    /// <summary>The <paramref name="max"/> ordinally smallest of <paramref name="items"/> greater than <paramref name="after"/>, sorted.</summary>
    private static List<string> SmallestAfter(IEnumerable<string> items, string? after, int max)
    {
        // A max-heap of the best so far: memory and sorting stay proportional to the page, not to the path.
        var best = new PriorityQueue<string, string>(Comparer<string>.Create(static (a, b) => string.CompareOrdinal(b, a)));
        foreach (var item in items)
        {
            if (after is not null && string.CompareOrdinal(item, after) <= 0) continue;
            if (best.Count < max) best.Enqueue(item, item);
            else if (max > 0 && string.CompareOrdinal(item, best.Peek()) < 0) best.EnqueueDequeue(item, item);
        }
        var page = new List<string>(best.Count);
        while (best.TryDequeue(out var item, out _)) page.Add(item);
        page.Reverse();
        return page;
    }

    /// <summary>
    /// The paths at or under <paramref name="prefix"/> that hold at least one live entry, sorted ordinally,
    /// limited to paths of at most <paramref name="maxDepth"/> segments counted from the root (null: no limit).
    /// The root holds entries too; it is listed as "".
    /// </summary>
    public IReadOnlyList<string> ListPaths(string bucket, string layer, string prefix, int? maxDepth = null)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, prefix);
        if (maxDepth < 0) return [];
        return index.FindLayer(bucket, layer)?.ListPaths(normalized, maxDepth) ?? [];
    }

    /// <summary>The layers of a bucket that hold live entries, with their counts, sorted by layer.</summary>
    public IReadOnlyList<LayerCount> ListLayers(string bucket) => ListLayers(bucket, null);

    /// <summary>The layers of a bucket with their live counts, counting only <paramref name="partitions"/> (null: all).</summary>
    public IReadOnlyList<LayerCount> ListLayers(string bucket, PartitionSet? partitions)
    {
        ThrowIfClosed();
        AddressRules.ValidateBucket(bucket);
        if (index.FindBucket(bucket) is not { } b) return [];
        var layers = new List<LayerCount>();
        foreach (var tree in b.Layers.Values)
        {
            var live = partitions is null ? tree.LiveEntries : LiveIn(bucket, tree, partitions);
            if (live > 0) layers.Add(new LayerCount(tree.Layer, live));
        }
        layers.Sort(static (x, y) => string.CompareOrdinal(x.Layer, y.Layer));
        return layers;
    }

    /// <summary>The live entries of a layer in the paths of <paramref name="partitions"/>: a walk of its nodes.</summary>
    private long LiveIn(string bucket, LayerTree tree, PartitionSet partitions)
    {
        long live = 0;
        foreach (var node in tree.Nodes)
            if (node.LiveKeys > 0 && partitions.Contains(partitionMap.PartitionOf(bucket, tree.Layer, node.Path))) live += node.LiveKeys;
        return live;
    }

    /// <summary>
    /// Which life of the bucket this is, for this process: it changes when the bucket is dropped and used again, and
    /// at every open (0: the bucket holds nothing). Something handed to a client about a bucket's data (a paging
    /// cursor) is bound to it, so it cannot outlive the data it was about. Example: elena's account is deleted
    /// and created again: the new bucket "elena" has another incarnation than the old one had.
    /// </summary>
    public long BucketIncarnation(string bucket)
    {
        ThrowIfClosed();
        AddressRules.ValidateBucket(bucket);
        return index.FindBucket(bucket)?.Incarnation ?? 0;
    }

    /// <summary>Buckets that hold live entries, sorted. With a prefix, only those starting with it (e.g. "elena#" for elena's sub-accounts).</summary>
    public IReadOnlyList<string> ListBuckets(string prefix = "") => ListBuckets(prefix, null);

    /// <summary>Buckets with live entries in <paramref name="partitions"/> (null: any), sorted.</summary>
    public IReadOnlyList<string> ListBuckets(string prefix, PartitionSet? partitions)
    {
        ThrowIfClosed();
        ArgumentNullException.ThrowIfNull(prefix);
        var buckets = new List<string>();
        foreach (var b in index.Buckets)
            if (b.LiveEntries > 0 && b.Bucket.StartsWith(prefix, StringComparison.Ordinal)
                && (partitions is null || b.Layers.Values.Any(tree => LiveIn(b.Bucket, tree, partitions) > 0)))
                buckets.Add(b.Bucket);
        buckets.Sort(StringComparer.Ordinal);
        return buckets;
    }

    /// <summary>The versions of one key, newest first, read back through its version chain in the log. Deleted keys keep their history.</summary>
    public async ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(EntryAddress address, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        var versions = new List<HistoryEntry>();
        await foreach (var version in ReadHistoryAsync(address, query, null, cancellationToken).ConfigureAwait(false))
            versions.Add(version);
        return versions;
    }

    /// <summary>The versions of every key (live or deleted) at exactly this path, merged newest first.</summary>
    public async ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string bucket, string layer, string path, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        var versions = new List<HistoryEntry>();
        await foreach (var version in ReadPathHistoryAsync(bucket, layer, path, query, null, cancellationToken).ConfigureAwait(false))
            versions.Add(version);
        return versions;
    }

    /// <summary>
    /// The versions of one key, newest first, each read from the log only when the caller asks for it, so a
    /// reader that stops early holds one version at a time and reads no more. With <paramref name="after"/>
    /// (the <see cref="HistoryEntry.Position"/> of a version this key's history returned) the read continues
    /// with the version before it. The address is validated now; the log is read during the enumeration.
    /// </summary>
    public IAsyncEnumerable<HistoryEntry> ReadHistoryAsync(EntryAddress address, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var (bucket, layer, path, key) = Validate(address);
        var entry = Visible(index.Find(bucket, layer, path, key));
        var start = entry is null || query.Limit <= 0 ? 0 : entry.LogAddress;
        var newer = long.MaxValue;
        if (after is { } position && start != 0)
        {
            if (position.Version > entry!.Version || position.PreviousAddress < 0 || position.PreviousAddress >= position.Address
                || position.Address > entry.LogAddress)
                throw new EngineException(EngineError.BadCursor, "not a position of this key's history");
            start = position.PreviousAddress;
            newer = position.Version;
        }
        return ReadChainAsync(new ChainOwner(bucket, layer, path, key), start, newer, query, after, cancellationToken);
    }

    /// <summary>
    /// The versions of every key (live or deleted) at exactly this path, merged newest first and read one at a
    /// time as the caller asks (a heap holds each key's next log address, not its versions). With
    /// <paramref name="after"/> (a position this path's history returned) the read continues with the versions
    /// older than it; the versions newer than it are walked again to find each key's place, but not returned.
    /// </summary>
    public IAsyncEnumerable<HistoryEntry> ReadPathHistoryAsync(string bucket, string layer, string path, HistoryQuery query,
        HistoryPosition? after = null, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, path);
        if (after is { Address: <= 0 })
            throw new EngineException(EngineError.BadCursor, "not a position of this path's history");
        var heads = query.Limit > 0 && index.FindNode(bucket, layer, normalized)?.Entries is { } entries ? VisibleHeads(entries) : [];
        return MergeChainsAsync(bucket, layer, normalized, heads, query, after, cancellationToken);
    }

    /// <summary>
    /// Streams the changes that match <paramref name="filter"/> after <paramref name="after"/>, which the feed
    /// advances in place past each change it hands out (and past the changes it passes over): read it after any
    /// change to resume from there later. The retained changes after the cursor are replayed from the log first,
    /// then live ones follow with no gap and no duplicate. Without a cursor only the changes after the call come
    /// (<see cref="CurrentCursor"/>). Ends when <paramref name="cancellationToken"/> fires or the store closes.
    /// </summary>
    public IAsyncEnumerable<ChangeEvent> ReadChangesAsync(ChangeFilter filter, FeedCursor? after, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        AddressRules.ValidateBucket(filter.Bucket);
        if (filter.Layer is not null) AddressRules.ValidateLayer(filter.Layer);
        if (after is not null && !after.TryBind(lanes.Count))
            throw new EngineException(EngineError.BadCursor, $"the cursor is for {after.PartitionCount} partitions, this store has {lanes.Count}");
        var normalized = filter with { PathPrefix = AddressRules.NormalizePath(filter.PathPrefix ?? "") };
        // "Changes after the call": the iterator only starts at the first MoveNextAsync, so pin the starting
        // point now; anything written in between is replayed from the log.
        return feed.ReadAsync(normalized, after ?? CurrentCursor(), cancellationToken);
    }

    /// <summary>The number of partitions; a feed cursor names a position in each.</summary>
    public int PartitionCount => lanes.Count;

    /// <summary>The partition (0..PartitionCount-1) that owns a (bucket, layer, path).</summary>
    public int PartitionOf(string bucket, string layer, string path) => partitionMap.PartitionOf(bucket, layer, path);

    /// <summary>Writes an index checkpoint now (also done every CheckpointEveryRecords and on dispose).</summary>
    public async ValueTask CheckpointAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await WriteCheckpointAsync(closing: false).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Commits the log now and waits until everything appended so far is durable.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await commits.WaitDurableAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        using (lanes.EnterAll())
        {
            if (closed) return;
            closed = true;
            feed.CloseAll();
        }
        try
        {
            // A compaction notices `closed` at its next step and stops; its appends and truncation never follow a closed log.
            await compactionGate.WaitAsync().ConfigureAwait(false);
            if (backgroundCheckpoint is { } running)
            {
                try { await running.ConfigureAwait(false); }
                catch (Exception) { /* a failed background checkpoint is replaced by the final one below */ }
            }
            await commits.DisposeAsync().ConfigureAwait(false);
            await WriteCheckpointAsync(closing: true).ConfigureAwait(false);
        }
        finally
        {
            Task readersGone;
            lock (logLeases)
                readersGone = logReaders == 0 ? Task.CompletedTask : (logReadersGone = new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            await readersGone.ConfigureAwait(false);
            log.Dispose();
        }
    }

    // ---- writing ----

    private WriteResult AppendLocked(PartitionLane lane, Operation op, string bucket, string layer, string path, string key, byte[]? value,
        SecondaryKeys secondaryKeys, string actor, IndexEntry? current)
    {
        var partitionSequence = lane.Sequence + 1;
        if (partitionSequence > VersionId.MaxSequence)
            throw new EngineException(EngineError.Closed, "the partition has used every sequence of its epoch");
        var record = t_scratchRecord ??= new LogRecord();
        record.Partition = lane.Partition;
        record.PartitionSequence = partitionSequence;
        record.Epoch = lane.Epoch;
        record.Format = LogRecord.CurrentFormat;
        record.TimestampMs = options.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        record.Actor = index.InternActor(actor);
        record.Op = op;
        record.Bucket = bucket;
        record.Layer = layer;
        record.Path = path;
        record.Key = key;
        record.Value = value;
        record.K2 = secondaryKeys.K2;
        record.K3 = secondaryKeys.K3;
        record.K4 = secondaryKeys.K4;
        return AppendRecordLocked(lane, record, current);
    }

    /// <summary>
    /// The lane held: appends <paramref name="record"/> (a local write, or a primary's record on a backup) as the lane's
    /// next, chained after <paramref name="current"/>, and publishes it to the index, the feed and the append observer.
    /// </summary>
    /// <param name="olderElsewhere">
    /// A record from another log (a primary's, a backup file's) that names an older version of its key this store does
    /// not have (it was compacted away there before this copy was taken): chained to <see cref="LogRecord.TruncatedPointer"/>
    /// when the key has no entry here, so its history ends as it does there.
    /// </param>
    private WriteResult AppendRecordLocked(PartitionLane lane, LogRecord record, IndexEntry? current, bool olderElsewhere = false)
    {
        record.PreviousAddress = current?.LogAddress ?? (olderElsewhere ? LogRecord.TruncatedPointer : 0);
        var buffer = t_recordBuffer ??= new ArrayBufferWriter<byte>(4096);
        record.WriteFramed(buffer);
        // If the append throws, nothing below has happened: the index and the lane are unchanged.
        var address = log.Append(buffer.WrittenSpan);
        var version = record.Version;

        lane.Sequence = record.PartitionSequence;
        switch (record.Op)
        {
            case Operation.Put or Operation.Delete:
                var entry = IndexEntry.Create(record.Op == Operation.Put ? record.Value : null, version, record.TimestampMs, record.Actor, address,
                    record.Op == Operation.Put ? record.SecondaryKeys : default);
                if (visibility != VisibilityGate.Appended && current is not null)
                {
                    entry.KeepPrevious(current);
                    lane.AwaitingVisibility.Enqueue(entry);
                }
                index.Set(record.Bucket, record.Layer, record.Path, record.Key, entry, maintainDerived: true);
                break;
            case Operation.DropBucketPart:
                var bucket = record.Bucket;
                index.DropBucketPart(bucket, lane.Partition, (layer, path) => partitionMap.PartitionOf(bucket, layer, path));
                lane.LastDropSequence = record.PartitionSequence;
                break;
        }
        if (visibility != VisibilityGate.Appended) lane.AwaitingCommit.Enqueue((address, version));
        lane.Sparse.Note(record.PartitionSequence, address);
        feed.Publish(record, record.Op == Operation.Put ? record.Value : null, address);
        appendObserver?.Appended(lane.Partition, record.PartitionSequence, version, buffer.WrittenSpan);
        if (buffer.Capacity > 1 << 16) t_recordBuffer = null; // a rare large value does not pin its buffer to the thread
        // Last: a feed reader that sees the lane's new position knows the change is in its mailbox already.
        lane.Position = version;
        lane.SinceCheckpoint++;
        return new WriteResult(true, new VersionId(version), record.TimestampMs, lane.Partition, record.PartitionSequence);
    }

    /// <param name="lane">The lane written (null: several); it decides, now and then, whether a checkpoint is due.</param>
    private async ValueTask AfterAppendAsync(PartitionLane? lane)
    {
        if (options.Durability == DurabilityMode.Sync)
            await commits.WaitDurableAsync().ConfigureAwait(false);
        else
        {
            commits.MarkDirty();
            if (commits.Overdue) await commits.WaitDurableAsync().ConfigureAwait(false);
        }
        if (lane is null || lane.SinceCheckpoint % checkpointCheckStride == 0) MaybeStartBackgroundCheckpoint();
    }

    private static void ThrowIfNotWritable(PartitionLane lane)
    {
        if (lane.Role is not (PartitionRole.Solo or PartitionRole.Primary))
            throw new EngineException(EngineError.NotPrimary, $"this node does not order the writes of partition {lane.Partition}");
    }

    /// <summary>A replicated store's bucket drop: a drop record in each partition of the set where the bucket has entries.</summary>
    private async ValueTask<long> DropBucketPartsAsync(string bucket, string actor, PartitionSet? partitions)
    {
        long live = 0;
        var appended = false;
        using (lanes.EnterAll())
        {
            ThrowIfClosed();
            foreach (var lane in lanes.All)
                if (partitions is null || partitions.Contains(lane.Partition)) ThrowIfNotWritable(lane);
            if (index.FindBucket(bucket) is not { } b) return 0;
            var held = new Dictionary<int, long>();
            foreach (var tree in b.Layers.Values)
            foreach (var node in tree.Nodes)
            {
                if (node.Entries is not { IsEmpty: false }) continue;
                var p = partitionMap.PartitionOf(bucket, tree.Layer, node.Path);
                held[p] = held.GetValueOrDefault(p) + node.LiveKeys;
            }
            foreach (var (p, liveKeys) in held.OrderBy(h => h.Key))
            {
                if (partitions is not null && !partitions.Contains(p)) continue;
                AppendLocked(lanes[p], Operation.DropBucketPart, bucket, "", "", "", null, default, actor, null);
                live += liveKeys;
                appended = true;
            }
        }
        if (appended) await AfterAppendAsync(null).ConfigureAwait(false);
        return live;
    }

    /// <summary>
    /// What a reader may see of an entry: the entry if its lane shows its version, else the newest version before it
    /// that is shown (null: none). A lane moves its visible version before it lets go of an entry's previous version,
    /// so a previous found missing means the entry itself is shown by now, or the key had no version before it.
    /// </summary>
    private IndexEntry? Visible(IndexEntry? entry)
    {
        if (visibility == VisibilityGate.Appended) return entry;
        while (entry is not null)
        {
            var lane = lanes[new VersionId(entry.Version).Partition];
            if (entry.Version <= lane.VisibleVersion) return entry;
            if (entry.Previous is not { } previous)
                return entry.Version <= lane.VisibleVersion ? entry : null;
            entry = previous;
        }
        return null;
    }

    private KeyValuePair<string, IndexEntry>[] VisibleHeads(ConcurrentDictionary<string, IndexEntry> entries)
    {
        if (visibility == VisibilityGate.Appended) return entries.ToArray();
        var heads = new List<KeyValuePair<string, IndexEntry>>(entries.Count);
        foreach (var (key, entry) in entries)
            if (Visible(entry) is { } visible) heads.Add(new(key, visible));
        return [.. heads];
    }

    /// <summary>The commit loop, after each commit and before its waiters go on: each lane notes what is on disk now.</summary>
    private void NoteCommitted()
    {
        var committed = log.CommittedUntilAddress;
        foreach (var lane in lanes.All)
        {
            var durable = lane.NoteCommitted(committed);
            if (visibility == VisibilityGate.Committed) lane.Show(durable);
        }
        appendObserver?.Committed();
    }

    /// <summary>Completes once a lane shows <paramref name="version"/> (with durable reads: after the commit that covers it).</summary>
    private Task WaitVisibleAsync(int partition, long version, CancellationToken cancellationToken)
    {
        var lane = lanes[partition];
        if (version <= lane.VisibleVersion) return Task.CompletedTask;
        return visibility == VisibilityGate.Committed ? commits.WaitDurableAsync() : lane.WaitVisibleAsync(version, cancellationToken);
    }

    private static EngineException? ConditionRefusal(WriteCondition condition, IndexEntry? current) => condition.Kind switch
    {
        WriteConditionKind.IfAbsent when current?.IsLive == true => new EngineException(EngineError.Exists, "the entry exists"),
        WriteConditionKind.IfVersion when current?.IsLive != true => new EngineException(EngineError.NotFound, "the entry does not exist"),
        WriteConditionKind.IfVersion when current!.Version != condition.Expected.Value =>
            new EngineException(EngineError.VersionConflict, "the entry has a newer version"),
        _ => null,
    };

    /// <summary>
    /// Throws a condition's refusal. With durable reads the caller chose its condition from what it could see; if what
    /// refused it is a version not yet shown, the refusal waits until it is (a commit; in a replicated store its
    /// acknowledgement, for a while), so a caller that reads again (a compare-and-set retry) sees the version it lost to
    /// instead of the one it already tried.
    /// </summary>
    private async ValueTask RefuseAsync(EngineException refusal, IndexEntry? current, PartitionLane lane)
    {
        if (visibility != VisibilityGate.Appended && current is not null && current.Version > lane.VisibleVersion)
        {
            if (visibility == VisibilityGate.Committed) await commits.WaitDurableAsync().ConfigureAwait(false);
            else
            {
                using var patience = new CancellationTokenSource(AcknowledgementPatience);
                try
                {
                    await lane.WaitVisibleAsync(current.Version, patience.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // A primary that lost its backups may never see it acknowledged: refuse anyway.
                }
            }
        }
        throw refusal;
    }

    private void CheckSecondaryKeysFree(string bucket, string layer, string path, string key, SecondaryKeys keys)
    {
        if (keys.IsEmpty || index.FindNode(bucket, layer, path) is not { } node) return;
        foreach (var slot in (ReadOnlySpan<SecondaryKeySlot>)[SecondaryKeySlot.K2, SecondaryKeySlot.K3, SecondaryKeySlot.K4])
        {
            if (keys[slot] is { } value && node.SecondaryOwner(slot, value) is { } owner && owner != key)
                throw new EngineException(EngineError.SecondaryKeyTaken, $"{slot.ToString().ToLowerInvariant()} is used by another key");
        }
    }

    // ---- reading the log ----

    /// <summary>Whose versions a chain holds (no key: any key of the path).</summary>
    private readonly record struct ChainOwner(string Bucket, string Layer, string Path, string? Key);

    private async IAsyncEnumerable<HistoryEntry> ReadChainAsync(ChainOwner owner, long start, long newerVersion, HistoryQuery query,
        HistoryPosition? after, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var generation = EnterLog();
        try
        {
            if (after is { } position && start != 0) await CheckPositionAsync(owner, position, cancellationToken).ConfigureAwait(false);
            var taken = 0;
            var address = Follow(start);
            while (address != 0 && taken < query.Limit)
            {
                var record = await ReadChainRecordAsync(owner, address, newerVersion, cancellationToken).ConfigureAwait(false);
                newerVersion = record.Version;
                if (record.TimestampMs >= query.FromMs && record.TimestampMs <= query.ToMs)
                {
                    taken++;
                    yield return ToHistoryEntry(record, address);
                }
                address = Follow(record.PreviousAddress);
            }
        }
        finally
        {
            ExitLog(generation);
        }
    }

    /// <summary>
    /// A k-way merge of the keys' version chains by version (the newest first; a path's keys share a partition, so that is
    /// the order they were written in, and a carry keeps its version while it moves to a higher address). Example: keys a
    /// (versions 9, 3) and b (7): the heap starts with a:9 and b:7; a:9 is read and its older version looked at (3) and
    /// queued; then b:7, then a:3. The heap holds each key's next address and version, not its value: a version is read
    /// to learn its predecessor's version, and again when it is its turn.
    /// </summary>
    private async IAsyncEnumerable<HistoryEntry> MergeChainsAsync(string bucket, string layer, string path,
        KeyValuePair<string, IndexEntry>[] heads, HistoryQuery query, HistoryPosition? after,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var generation = EnterLog();
        try
        {
            var belowVersion = after?.Version ?? long.MaxValue;
            if (after is { } position && heads.Length > 0) await CheckPositionAsync(new ChainOwner(bucket, layer, path, null), position, cancellationToken).ConfigureAwait(false);
            var pending = new PriorityQueue<(ChainOwner Owner, long Address, long Newer), long>(heads.Length,
                Comparer<long>.Create(static (a, b) => b.CompareTo(a)));
            foreach (var (key, head) in heads)
            {
                var address = Follow(head.LogAddress);
                if (address != 0) pending.Enqueue((new ChainOwner(bucket, layer, path, key), address, long.MaxValue), head.Version);
            }
            var taken = 0;
            while (taken < query.Limit && pending.TryDequeue(out var next, out _))
            {
                var record = await ReadChainRecordAsync(next.Owner, next.Address, next.Newer, cancellationToken).ConfigureAwait(false);
                var older = Follow(record.PreviousAddress);
                if (older != 0)
                {
                    var olderVersion = (await ReadChainRecordAsync(next.Owner, older, record.Version, cancellationToken).ConfigureAwait(false)).Version;
                    pending.Enqueue((next.Owner, older, record.Version), olderVersion);
                }
                if (record.Version >= belowVersion) continue;
                if (record.TimestampMs >= query.FromMs && record.TimestampMs <= query.ToMs)
                {
                    taken++;
                    yield return ToHistoryEntry(record, next.Address);
                }
            }
        }
        finally
        {
            ExitLog(generation);
        }
    }

    /// <summary>
    /// A position a caller hands back (a paging cursor) must be one of this log's versions of the key (or path): one
    /// that came from another node's log, or from a bucket since dropped, is refused instead of read as a chain.
    /// </summary>
    private async ValueTask CheckPositionAsync(ChainOwner owner, HistoryPosition position, CancellationToken cancellationToken)
    {
        LogRecord? record = null;
        if (position.Address >= Math.Max(log.BeginAddress, Volatile.Read(ref horizon).Address) && position.Address < log.TailAddress)
        {
            if (position.Address >= log.CommittedUntilAddress) await commits.WaitDurableAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            try { record = await log.ReadAsync(position.Address, cancellationToken).ConfigureAwait(false); }
            catch (InvalidDataException) { }
        }
        if (record is null || record.Version != position.Version || record.PreviousAddress != position.PreviousAddress
            || record.Bucket != owner.Bucket || record.Layer != owner.Layer || record.Path != owner.Path || (owner.Key is { } key && record.Key != key))
            throw new EngineException(EngineError.BadCursor, "not a position of this history");
    }

    /// <summary>One record of a version chain; anything but an older version of the same entry means the chain is broken.</summary>
    private async ValueTask<LogRecord> ReadChainRecordAsync(ChainOwner owner, long address, long newerVersion, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (address >= log.CommittedUntilAddress)
            await commits.WaitDurableAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var record = await log.ReadAsync(address, cancellationToken).ConfigureAwait(false);
        if (record.Key != owner.Key || record.Path != owner.Path || record.Layer != owner.Layer || record.Bucket != owner.Bucket
            || record.Version >= newerVersion)
            throw new InvalidDataException($"broken version chain of key '{owner.Key}' at log address {address}");
        return record;
    }

    private static HistoryEntry ToHistoryEntry(LogRecord record, long address)
    {
        var value = record.Op == Operation.Put ? record.Value : null;
        return new HistoryEntry(record.Key, record.TimestampMs, record.Actor, record.Op,
            value is null ? null : (ReadOnlyMemory<byte>?)value, new VersionId(record.Version))
        {
            Position = new HistoryPosition(address, record.PreviousAddress, record.Version),
        };
    }

    /// <summary>Where a feed replay from <paramref name="cursor"/> up to <paramref name="cut"/> starts: the earliest point a partition behind needs.</summary>
    private long ReplayStart(FeedCursor cursor, long[] cut)
    {
        var start = long.MaxValue;
        for (var p = 0; p < cut.Length; p++)
        {
            if (cursor[p] >= cut[p]) continue;
            // A partition's sequence runs on across its epochs, so the sparse index by sequence serves any epoch.
            var lane = lanes[p];
            start = Math.Min(start, lane.Sparse.StartAddressAfter(lane.ResumeAfterSequence(cursor[p]), log.BeginAddress));
        }
        return start == long.MaxValue ? log.TailAddress : Math.Max(start, Math.Max(log.BeginAddress, Volatile.Read(ref horizon).Address));
    }

    /// <summary>Up to <paramref name="max"/> records from log address <paramref name="from"/> below <paramref name="until"/> (the caller made them durable); null when closed.</summary>
    private ReplayBatch? ReadRecordBatch(long from, long until, int max)
    {
        if (!TryEnterLog(out var generation)) return null;
        try
        {
            // Below the horizon: truncated, or about to be (this lease may be one the truncation does not wait for).
            if (from < Volatile.Read(ref horizon).Address) return new ReplayBatch([], from, Truncated: true);
            var batch = new List<(LogRecord, long)>(Math.Min(max, 256));
            var next = until;
            foreach (var item in log.Scan(from, Math.Min(until, log.CommittedUntilAddress), Volatile.Read(ref skipRanges)))
            {
                if (item.Record is not { } record)
                    throw new InvalidDataException($"damaged log record at address {item.Address}");
                if (batch.Count == max)
                {
                    next = item.Address;
                    break;
                }
                batch.Add((record, item.Address));
            }
            return new ReplayBatch(batch, next);
        }
        finally
        {
            ExitLog(generation);
        }
    }

    /// <summary>Takes a log lease (false once the store is closed); <paramref name="generation"/> is what <see cref="ExitLog"/> gives back.</summary>
    private bool TryEnterLog(out int generation)
    {
        lock (logLeases)
        {
            generation = leaseGeneration;
            if (closed) return false;
            logReaders++;
            readersOfGeneration[generation & 1]++;
            return true;
        }
    }

    private int EnterLog()
    {
        if (!TryEnterLog(out var generation)) throw new EngineException(EngineError.Closed, "the store is closed");
        return generation;
    }

    private void ExitLog(int generation)
    {
        lock (logLeases)
        {
            if (--logReaders == 0) logReadersGone?.TrySetResult();
            if (--readersOfGeneration[generation & 1] == 0 && generation != leaseGeneration) olderReadersGone?.TrySetResult();
        }
    }

    // ---- checkpoints ----

    private void MaybeStartBackgroundCheckpoint()
    {
        long since = 0;
        foreach (var lane in lanes.All) since += Volatile.Read(ref lane.SinceCheckpoint);
        if (since < options.CheckpointEveryRecords) return;
        if (Interlocked.CompareExchange(ref checkpointRunning, 1, 0) != 0) return;
        // Started holding the lanes, where dispose sets `closed`: dispose either sees this task and waits
        // for it, or the task is never started; it never writes a checkpoint over a closed log.
        using (lanes.EnterAll())
        {
            if (closed)
            {
                Volatile.Write(ref checkpointRunning, 0);
                return;
            }
            backgroundCheckpoint = Task.Run(async () =>
            {
                try
                {
                    await WriteCheckpointAsync(closing: false).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref checkpointRunning, 0);
                }
            });
        }
    }

    /// <param name="closing">True when no writer can append any more (dispose, open): commit the log directly.</param>
    private async Task WriteCheckpointAsync(bool closing)
    {
        await checkpointGate.WaitAsync().ConfigureAwait(false);
        try
        {
            CheckpointHeader header;
            using (lanes.EnterAll())
            {
                header = CheckpointHeader.Of(lanes, log.TailAddress, skipRanges, options.Clock.GetUtcNow().ToUnixTimeMilliseconds(), closing);
                foreach (var lane in lanes.All) lane.SinceCheckpoint = 0;
            }
            Func<Task> makeDurable = closing ? () => log.CommitAsync().AsTask() : commits.WaitDurableAsync;
            await IndexCheckpoint.WriteAsync(options.DataDirectory, header, index, () => log.TailAddress, makeDurable).ConfigureAwait(false);
        }
        finally
        {
            checkpointGate.Release();
        }
    }

    // ---- validation ----

    private static (string Bucket, string Layer, string Path, string Key) Validate(EntryAddress address)
    {
        var path = ValidateLocation(address.Bucket, address.Layer, address.Path);
        AddressRules.ValidateKey(address.Key);
        return (address.Bucket, address.Layer, path, address.Key);
    }

    private static string ValidateLocation(string bucket, string layer, string path)
    {
        AddressRules.ValidateBucket(bucket);
        AddressRules.ValidateLayer(layer);
        return AddressRules.NormalizePath(path ?? throw new EngineException(EngineError.BadPath, "invalid path"));
    }

    private static void ValidateSecondaryKeys(SecondaryKeys keys)
    {
        if ((keys.K2 is not null && !AddressRules.IsValidKey(keys.K2))
            || (keys.K3 is not null && !AddressRules.IsValidKey(keys.K3))
            || (keys.K4 is not null && !AddressRules.IsValidKey(keys.K4)))
            throw new EngineException(EngineError.BadKey, "invalid secondary key");
    }

    private void ThrowIfClosed()
    {
        if (closed) throw new EngineException(EngineError.Closed, "the store is closed");
    }
}
