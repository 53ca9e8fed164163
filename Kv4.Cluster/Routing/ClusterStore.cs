using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Kv4.Cluster.Bus;
using Kv4.Engine.Backups;
using Kv4.Engine.Model;
using Kv4.Engine.Replication;
using Kv4.Engine.Rules;
using Kv4.Services.Storage;

namespace Kv4.Cluster.Routing;

/// <summary>
/// The services' storage (<see cref="IStore"/>) on a cluster node: every call goes to the primary of the partition it
/// addresses — this node's engine when it leads the partition, else over the bus — and calls that span partitions
/// (listings of paths, layers and buckets, subtree deletes, bucket drops, feeds) go to every primary for the
/// partitions it leads, and their answers are merged. Services cannot tell it from a single node's store.
/// <code>
///   GetLatestAsync("elena", "data", "a/b", "k")   partition 17 → primary n2 → StoreGet on the bus → n2's engine
///   ListPathsAsync("elena", "data", "a")           n1: [0..21] locally, n2: [22..40], n3: [41..63] → merged, sorted, paged
///   ReadChangesAsync(...)                          one feed per primary, merged; each event moves the cursor of its partition
/// </code>
/// A call waits for a partition without a primary (a failover) for <see cref="ClusterOptions.FailoverPatience"/>, then
/// answers <see cref="EngineError.Unavailable"/>. A read is tried again wherever the partition went; a write is tried
/// again only when it surely did not run (refused, or never sent): one whose answer was lost answers unavailable.
/// </summary>
public sealed class ClusterStore : IStore
{
    private const int HistoryPage = 256;
    private const int FeedBatch = 512;
    private const int FeedWaitMs = 1000;

    private readonly ClusterNode _node;
    private readonly ConcurrentDictionary<string, View> _views = new(StringComparer.Ordinal);

    public ClusterStore(ClusterNode node)
    {
        _node = node;
        node.Invalidated += (bucket, layer) => ChangedElsewhere?.Invoke(bucket, layer);
    }

    public event Action<string, string>? ChangedElsewhere;

    private LocalPartitions Local => _node.Local;

    private ClusterOptions Options => _node.Options;

    public IBucketView Bucket(string bucket)
    {
        if (_views.TryGetValue(bucket, out var view)) return view;
        if (_views.Count >= 100_000) _views.Clear();
        return _views.GetOrAdd(bucket, b => new View(this, b));
    }

    public async ValueTask<IReadOnlyList<string>> ListBucketsAsync(string prefix = "", CancellationToken cancellationToken = default)
    {
        var answers = await FanOutAsync(parts => new StoreListBuckets { Prefix = prefix, Partitions = parts },
            (local, parts) => Task.FromResult<BusMessage>(local.ListBuckets(new StoreListBuckets { Prefix = prefix, Partitions = parts })),
            write: false, cancellationToken).ConfigureAwait(false);
        return [.. answers.Cast<StoreStrings>().SelectMany(a => a.Items).Distinct().Order(StringComparer.Ordinal)];
    }

    public async ValueTask<long> DeleteBucketAsync(string bucket, string actor, CancellationToken cancellationToken = default)
    {
        var answers = await FanOutAsync(parts => new StoreDropBucket { Bucket = bucket, Actor = actor, Partitions = parts },
            async (local, parts) => await local.DropBucketAsync(new StoreDropBucket { Bucket = bucket, Actor = actor, Partitions = parts }, cancellationToken)
                .ConfigureAwait(false),
            write: true, cancellationToken).ConfigureAwait(false);
        return answers.Cast<StoreCount>().Sum(a => a.Count);
    }

    /// <summary>Each partition's acknowledged version, asked of every primary at about the same moment.</summary>
    private async ValueTask<FeedCursor> AcknowledgedCursorAsync(CancellationToken cancellationToken)
    {
        var answers = await FanOutAsync(parts => new StoreCursor { Partitions = parts },
            (l, parts) => Task.FromResult<BusMessage>(l.Positions(new StoreCursor { Partitions = parts })), write: false, cancellationToken).ConfigureAwait(false);
        var cursor = FeedCursor.Beginning(Local.PartitionCount);
        foreach (var answer in answers.Cast<StorePositions>())
            for (var i = 0; i < answer.Partitions.Length; i++) cursor.TryAdvance(answer.Partitions[i], answer.Versions[i]);
        return cursor;
    }

    /// <summary>
    /// A backup of the whole cluster, in the single node's format: the cut is each partition's acknowledged version,
    /// read from every primary at about the same moment (one instant per partition, not one for the cluster: there
    /// is none), then each partition's records up to its cut, page by page from whichever node leads it — a failover
    /// in between only moves where the next page comes from, since every in-sync copy holds what was acknowledged.
    /// Restored with the same command as a single node's backup, into a single node of as many partitions. A partition
    /// its primary has compacted comes as its retained versions up to its history start, then a rebase marker, then its
    /// records after it (Kv4Store.Rebase.cs); a compaction there while those are read fails the backup (`unavailable`).
    /// </summary>
    public async ValueTask<BackupSummary> WriteBackupAsync(Stream output, CancellationToken cancellationToken = default)
    {
        var cut = await AcknowledgedCursorAsync(cancellationToken).ConfigureAwait(false);
        var writer = BackupWriter.Start(output, BackupOrder.Partitions, Local.PartitionCount, cut.ToString(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        for (var partition = 0; partition < Local.PartitionCount; partition++)
        {
            var upTo = new VersionId(cut[partition]).PartitionSequence;
            var read = new StoreReadRecords { Partition = partition, UpToSequence = upTo };
            var emptyPages = 0;
            var rebased = false;
            while (read.AfterSequence < upTo)
            {
                var call = read;
                var page = await OnPrimaryAsync<StoreRecords>(partition, call, async l => await l.ReadRecordsAsync(call, _node.Name).ConfigureAwait(false),
                    write: false, cancellationToken).ConfigureAwait(false);
                if (page.Retained && rebased)
                    throw new EngineException(EngineError.Unavailable, $"partition {partition} was compacted while the backup read it: take the backup again");
                foreach (var record in page.Records) await writer.WriteRecordAsync(0, record, cancellationToken).ConfigureAwait(false);
                if (page.Retained)
                {
                    // A compacted partition: its retained versions so far; at its history start, where its records go on.
                    var more = page.Last < page.UpTo;
                    rebased = !more;
                    if (!more)
                        await writer.WriteRecordAsync(0, StoreReplication.RebaseMarker(partition, page.UpTo,
                            [.. page.Epochs.Zip(page.FirstSequences, (e, f) => (e, f))]), cancellationToken).ConfigureAwait(false);
                    read = new StoreReadRecords
                    {
                        Partition = partition, AfterSequence = page.Last, UpToSequence = upTo, ResumeNode = page.Node, Horizon = more ? page.Horizon : null,
                    };
                    continue;
                }
                // A primary always holds what it acknowledged; pages that bring nothing mean it no longer serves the partition.
                emptyPages = page.Records.Length == 0 ? emptyPages + 1 : 0;
                if (emptyPages > 3)
                    throw new EngineException(EngineError.Unavailable, $"partition {partition}: its primary does not hand out its records up to {upTo}");
                read = new StoreReadRecords { Partition = partition, AfterSequence = page.Last, UpToSequence = upTo, Resume = page.Resume, ResumeNode = page.Node };
            }
        }
        return await writer.FinishAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a call on the primary of <paramref name="partition"/>: here when this node leads it, else on the bus. Waits
    /// out a failover; tries a read again wherever the partition went, a write only when it surely did not run.
    /// </summary>
    internal async Task<TReply> OnPrimaryAsync<TReply>(int partition, BusMessage call, Func<LocalPartitions, Task<BusMessage>> local, bool write,
        CancellationToken cancellationToken) where TReply : BusMessage
    {
        var deadline = Environment.TickCount64 + (long)Options.FailoverPatience.TotalMilliseconds;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var state = _node.State;
            var primary = state.IsBootstrapped ? state.Partitions[partition].Primary : null;
            try
            {
                if (Local.Leads(partition)) return (TReply)await local(Local).ConfigureAwait(false);
                if (primary is not null && primary != _node.Name && state.IsUp(primary))
                    return await _node.Bus.CallAsync<TReply>(primary, call, Options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (BusCallException e) when (e.Fault.EngineError >= 0)
            {
                throw new EngineException((EngineError)e.Fault.EngineError, e.Fault.Message);
            }
            catch (BusCallException e) when (e.Code is BusFault.NotPrimary or BusFault.NotReady || (e.Unreached && (!write || !e.Sent)))
            {
                // Refused before anything ran, or a read: look again below.
            }
            catch (BusCallException e) when (e.Unreached)
            {
                throw new EngineException(EngineError.Unavailable, $"partition {partition}: {e.Fault.Message}");
            }
            if (Environment.TickCount64 > deadline)
                throw new EngineException(EngineError.Unavailable, $"partition {partition} has no primary that can serve it now");
            await _node.StateChangeAsync(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs a call on every primary for the partitions it leads (this node's own locally) and answers their replies.
    /// Waits out partitions without a primary; if the placement moved under the call, runs it again (writes are
    /// idempotent at that grain: a subtree already tombstoned has nothing left to delete).
    /// </summary>
    internal async Task<List<BusMessage>> FanOutAsync(Func<int[], BusMessage> call, Func<LocalPartitions, int[], Task<BusMessage>> local, bool write,
        CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)Options.FailoverPatience.TotalMilliseconds;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var groups = Groups(out var complete);
            if (complete)
            {
                try
                {
                    var replies = await Task.WhenAll(groups.Select(g => g.Node == _node.Name
                        ? local(Local, g.Partitions)
                        : _node.Bus.CallAsync<BusMessage>(g.Node, call(g.Partitions), Options.RequestTimeout, cancellationToken))).ConfigureAwait(false);
                    return [.. replies];
                }
                catch (BusCallException e) when (e.Fault.EngineError >= 0)
                {
                    throw new EngineException((EngineError)e.Fault.EngineError, e.Fault.Message);
                }
                catch (BusCallException e) when (e.Code is BusFault.NotPrimary or BusFault.NotReady || (e.Unreached && (!write || !e.Sent)))
                {
                }
                catch (BusCallException e) when (e.Unreached)
                {
                    throw new EngineException(EngineError.Unavailable, e.Fault.Message);
                }
            }
            if (Environment.TickCount64 > deadline) throw new EngineException(EngineError.Unavailable, "some partitions have no primary that can serve them now");
            await _node.StateChangeAsync(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The partitions by the node that leads each (this node: only those it leads now); incomplete while one has no live primary.</summary>
    private List<(string Node, int[] Partitions)> Groups(out bool complete)
    {
        var state = _node.State;
        complete = state.IsBootstrapped;
        if (!complete) return [];
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var p = 0; p < state.PartitionCount; p++)
        {
            var primary = state.Partitions[p].Primary;
            if (primary is null || !state.IsUp(primary) || (primary == _node.Name && !Local.Leads(p)))
            {
                complete = false;
                return [];
            }
            if (!groups.TryGetValue(primary, out var list)) groups[primary] = list = [];
            list.Add(p);
        }
        return [.. groups.Select(g => (g.Key, g.Value.ToArray()))];
    }

    private static int[] All(int count) => [.. Enumerable.Range(0, count)];

    private sealed class View(ClusterStore cluster, string bucket) : IBucketView
    {
        private LocalPartitions Local => cluster.Local;

        public string Bucket => bucket;

        // Bucket lives are this node's engine's notion; a cluster's are not tracked across nodes (see docs/cluster.md):
        // positions in paging cursors are checked where they are used instead.
        public ValueTask<long> IncarnationAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(1L);

        private int PartitionOf(string layer, string path) => Local.PartitionOf(bucket, layer, path);

        private Task<TReply> Read<TReply>(string layer, string path, BusMessage call, Func<LocalPartitions, BusMessage> local, CancellationToken cancellationToken)
            where TReply : BusMessage =>
            cluster.OnPrimaryAsync<TReply>(PartitionOf(layer, path), call, l => Task.FromResult(local(l)), write: false, cancellationToken);

        public async ValueTask<StoredValue?> GetLatestAsync(string layer, string path, string key, CancellationToken cancellationToken = default)
        {
            var p = PartitionOf(layer, path);
            if (Local.Leads(p) && Local.Store.TryGetLatest(new EntryAddress(bucket, layer, path, key), out var here)) return here;
            var call = new StoreGet { Bucket = bucket, Layer = layer, Path = path, Key = key };
            var value = await cluster.OnPrimaryAsync<StoreValue>(p, call, l => Task.FromResult<BusMessage>(l.Get(call)), write: false, cancellationToken)
                .ConfigureAwait(false);
            return value.Found ? ToStored(value) : null;
        }

        public async ValueTask<KeyedValue?> GetBySecondaryKeyAsync(string layer, string path, SecondaryKeySlot slot, string secondaryKey,
            CancellationToken cancellationToken = default)
        {
            var call = new StoreGetBySecondary { Bucket = bucket, Layer = layer, Path = path, Slot = (int)slot, SecondaryKey = secondaryKey };
            var value = await Read<StoreValue>(layer, path, call, l => l.GetBySecondary(call), cancellationToken).ConfigureAwait(false);
            return value.Found ? new KeyedValue(value.Key!, ToStored(value)) : null;
        }

        public async ValueTask<SecondaryKeys?> GetSecondaryKeysAsync(string layer, string path, string key, CancellationToken cancellationToken = default)
        {
            var call = new StoreGetSecondaryKeys { Bucket = bucket, Layer = layer, Path = path, Key = key };
            var keys = await Read<StoreSecondaryKeys>(layer, path, call, l => l.GetSecondaryKeys(call), cancellationToken).ConfigureAwait(false);
            return keys.Found ? new SecondaryKeys(keys.K2, keys.K3, keys.K4) : null;
        }

        public ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, CancellationToken cancellationToken = default) =>
            ListKeysAsync(layer, path, null, -1, cancellationToken);

        public async ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, string? after, int max, CancellationToken cancellationToken = default)
        {
            var call = new StoreListKeys { Bucket = bucket, Layer = layer, Path = path, After = after, Max = max };
            return (await Read<StoreStrings>(layer, path, call, l => l.ListKeys(call), cancellationToken).ConfigureAwait(false)).Items;
        }

        public ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth = null, CancellationToken cancellationToken = default) =>
            ListPathsAsync(layer, prefix, maxDepth, null, -1, cancellationToken);

        public async ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth, string? after, int max,
            CancellationToken cancellationToken = default)
        {
            if (!AddressRules.TryNormalizePath(prefix ?? "", out _)) throw new EngineException(EngineError.BadPath, "invalid path");
            StoreListPaths Call(int[] parts) => new() { Bucket = bucket, Layer = layer, Prefix = prefix!, MaxDepth = maxDepth, After = after, Max = max, Partitions = parts };
            var answers = await cluster.FanOutAsync(Call, (l, parts) => Task.FromResult<BusMessage>(l.ListPaths(Call(parts))), write: false, cancellationToken)
                .ConfigureAwait(false);
            var merged = answers.Cast<StoreStrings>().SelectMany(a => a.Items).Distinct().Order(StringComparer.Ordinal);
            return max < 0 ? [.. merged] : [.. merged.Take(max)];
        }

        public async ValueTask<StoredValue?> GetAtAsync(string layer, string path, string key, long atMs, CancellationToken cancellationToken = default)
        {
            var call = new StoreGetAt { Bucket = bucket, Layer = layer, Path = path, Key = key, AtMs = atMs };
            var value = await cluster.OnPrimaryAsync<StoreValue>(PartitionOf(layer, path), call,
                async l => await l.GetAtAsync(call, cancellationToken).ConfigureAwait(false), write: false, cancellationToken).ConfigureAwait(false);
            return value.Found ? ToStored(value) : null;
        }

        public async ValueTask<IReadOnlyList<string>> ListKeysAtAsync(string layer, string path, long atMs, string? after, int max,
            CancellationToken cancellationToken = default)
        {
            var call = new StoreListKeysAt { Bucket = bucket, Layer = layer, Path = path, AtMs = atMs, After = after, Max = max };
            return (await cluster.OnPrimaryAsync<StoreStrings>(PartitionOf(layer, path), call,
                async l => await l.ListKeysAtAsync(call, cancellationToken).ConfigureAwait(false), write: false, cancellationToken).ConfigureAwait(false)).Items;
        }

        /// <summary>Each primary answers its own first <paramref name="max"/> paths; the merged page is the first <paramref name="max"/> of them all.</summary>
        public async ValueTask<IReadOnlyList<string>> ListPathsAtAsync(string layer, string prefix, int? maxDepth, long atMs, string? after, int max,
            CancellationToken cancellationToken = default)
        {
            if (!AddressRules.TryNormalizePath(prefix ?? "", out _)) throw new EngineException(EngineError.BadPath, "invalid path");
            StoreListPathsAt Call(int[] parts) => new()
            {
                Bucket = bucket, Layer = layer, Prefix = prefix!, MaxDepth = maxDepth, AtMs = atMs, After = after, Max = max, Partitions = parts,
            };
            var answers = await cluster.FanOutAsync(Call, async (l, parts) => await l.ListPathsAtAsync(Call(parts), cancellationToken).ConfigureAwait(false),
                write: false, cancellationToken).ConfigureAwait(false);
            return [.. answers.Cast<StoreStrings>().SelectMany(a => a.Items).Distinct().Order(StringComparer.Ordinal).Take(max)];
        }

        public async ValueTask<IReadOnlyList<LayerCount>> ListLayersAsync(CancellationToken cancellationToken = default)
        {
            StoreListLayers Call(int[] parts) => new() { Bucket = bucket, Partitions = parts };
            var answers = await cluster.FanOutAsync(Call, (l, parts) => Task.FromResult<BusMessage>(l.ListLayers(Call(parts))), write: false, cancellationToken)
                .ConfigureAwait(false);
            var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var answer in answers.Cast<StoreLayers>())
                for (var i = 0; i < answer.Layers.Length; i++) counts[answer.Layers[i]] = counts.GetValueOrDefault(answer.Layers[i]) + answer.Counts[i];
            return [.. counts.Select(c => new LayerCount(c.Key, c.Value))];
        }

        public async ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string layer, string path, string key, HistoryQuery query,
            CancellationToken cancellationToken = default)
        {
            var versions = new List<HistoryEntry>();
            await foreach (var version in ReadHistoryAsync(layer, path, key, query, null, cancellationToken).ConfigureAwait(false)) versions.Add(version);
            return versions;
        }

        public async ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string layer, string path, HistoryQuery query,
            CancellationToken cancellationToken = default)
        {
            var versions = new List<HistoryEntry>();
            await foreach (var version in ReadPathHistoryAsync(layer, path, query, null, cancellationToken).ConfigureAwait(false)) versions.Add(version);
            return versions;
        }

        public IAsyncEnumerable<HistoryEntry> ReadHistoryAsync(string layer, string path, string key, HistoryQuery query, HistoryPosition? after = null,
            CancellationToken cancellationToken = default) => ReadPagesAsync(layer, path, key, query, after, cancellationToken);

        public IAsyncEnumerable<HistoryEntry> ReadPathHistoryAsync(string layer, string path, HistoryQuery query, HistoryPosition? after = null,
            CancellationToken cancellationToken = default) => ReadPagesAsync(layer, path, null, query, after, cancellationToken);

        /// <summary>A history from the partition's primary, a page of versions at a time, each page continuing after the last version of the one before.</summary>
        private async IAsyncEnumerable<HistoryEntry> ReadPagesAsync(string layer, string path, string? key, HistoryQuery query, HistoryPosition? after,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var p = PartitionOf(layer, path);
            var remaining = query.Limit;
            while (remaining > 0)
            {
                var call = new StoreHistory
                {
                    Bucket = bucket, Layer = layer, Path = path, Key = key, FromMs = query.FromMs, ToMs = query.ToMs, Limit = remaining,
                    HasAfter = after is not null, AfterAddress = after?.Address ?? 0, AfterPrevious = after?.PreviousAddress ?? 0,
                    AfterVersion = after?.Version ?? 0, Max = Math.Min(HistoryPage, remaining),
                };
                var page = await cluster.OnPrimaryAsync<StoreHistoryPage>(p, call, async l => await l.HistoryAsync(call, cancellationToken).ConfigureAwait(false),
                    write: false, cancellationToken).ConfigureAwait(false);
                foreach (var item in page.Entries)
                {
                    var position = new HistoryPosition(item.Address, item.PreviousAddress, item.Version);
                    yield return new HistoryEntry(item.Key, item.TimestampMs, item.Actor, (Operation)item.Op,
                        item.Value is null ? null : (ReadOnlyMemory<byte>?)item.Value, new VersionId(item.Version)) { Position = position };
                    after = position;
                    remaining--;
                }
                if (!page.More || page.Entries.Length == 0) yield break;
            }
        }

        public ValueTask<FeedCursor> CurrentCursorAsync(CancellationToken cancellationToken = default) => cluster.AcknowledgedCursorAsync(cancellationToken);

        /// <summary>
        /// The bucket's changes after <paramref name="after"/> from every primary, merged: one feed per node for the
        /// partitions it leads, restarted from the cursor whenever one ends (its node went away, or the partitions
        /// moved), so the stream has no gap and no duplicate across failovers and moves.
        /// </summary>
        public async IAsyncEnumerable<ChangeEvent> ReadChangesAsync(string? layer, string pathPrefix, FeedCursor after,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var cursor = after.For(Local.PartitionCount) ?? throw new EngineException(EngineError.BadCursor,
                $"the cursor is for {after.PartitionCount} partitions, this cluster has {Local.PartitionCount}");
            var home = Local.Store.PartitionOf(bucket, "", "");
            while (!cancellationToken.IsCancellationRequested)
            {
                var groups = cluster.Groups(out var complete);
                if (!complete)
                {
                    try { await cluster._node.StateChangeAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false); }
                    catch (OperationCanceledException) { yield break; }
                    continue;
                }
                using var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var merged = Channel.CreateBounded<ChangeEvent?>(new BoundedChannelOptions(4096) { SingleReader = true });
                var start = cursor.ToString();
                var readers = groups.Select(g => Task.Run(() => FeedAsync(g.Node, g.Partitions, layer, pathPrefix, start, merged.Writer, round.Token), CancellationToken.None))
                    .ToList();
                var primaries = new string?[Local.PartitionCount];
                foreach (var (node, parts) in groups) foreach (var part in parts) primaries[part] = node;
                _ = cluster._node.WhenPrimariesDifferAsync(primaries, round.Token).ContinueWith(_ =>
                {
                    try { round.Cancel(); }
                    catch (ObjectDisposedException) { }
                }, TaskScheduler.Default);
                while (true)
                {
                    ChangeEvent? change;
                    try
                    {
                        change = await merged.Reader.ReadAsync(round.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                    if (change is null) break; // one feed ended: start every feed again from the cursor
                    if (!cursor.TryAdvance(change.Partition, change.Version.Value)) continue;
                    if (change.Op == Operation.DropBucketPart && change.Partition != home) continue;
                    yield return change;
                }
                round.Cancel();
                try { await Task.WhenAll(readers).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
            }
        }

        private async Task FeedAsync(string node, int[] partitions, string? layer, string prefix, string cursor, ChannelWriter<ChangeEvent?> output,
            CancellationToken cancellationToken)
        {
            try
            {
                if (node == cluster._node.Name)
                {
                    if (!FeedCursor.TryParse(cursor, out var from)) return;
                    var filter = new ChangeFilter(bucket, layer, prefix, PartitionSet.Of(Local.PartitionCount, partitions));
                    await foreach (var change in Local.Store.ReadChangesAsync(filter, from, cancellationToken).ConfigureAwait(false))
                    {
                        if (!Local.Leads(change.Partition)) break;
                        await output.WriteAsync(change, cancellationToken).ConfigureAwait(false);
                    }
                    return;
                }
                var bus = cluster._node.Bus;
                var opened = await bus.CallAsync<FeedOpened>(node, new FeedOpen { Bucket = bucket, Layer = layer, Prefix = prefix, Partitions = partitions, Cursor = cursor },
                    cluster.Options.RequestTimeout, cancellationToken).ConfigureAwait(false);
                try
                {
                    while (true)
                    {
                        var events = await bus.CallAsync<FeedEvents>(node, new FeedNext { Id = opened.Id, Max = FeedBatch, WaitMs = FeedWaitMs },
                            cluster.Options.RequestTimeout + TimeSpan.FromMilliseconds(FeedWaitMs), cancellationToken).ConfigureAwait(false);
                        foreach (var item in events.Events)
                            await output.WriteAsync(ToChange(item), cancellationToken).ConfigureAwait(false);
                        if (events.Ended) return;
                    }
                }
                finally
                {
                    _ = bus.CallAsync<Done>(node, new FeedClose { Id = opened.Id }, cluster.Options.RequestTimeout, CancellationToken.None)
                        .ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or BusCallException or EngineException or ChannelClosedException)
            {
            }
            finally
            {
                // The end of any one feed (its node gone, its partitions moved, cancelled) restarts the round.
                output.TryWrite(null);
            }
        }

        public async ValueTask<WriteResult> PutAsync(string layer, string path, string key, ReadOnlyMemory<byte> json, string actor,
            WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default)
        {
            var call = new StorePut
            {
                Bucket = bucket, Layer = layer, Path = path, Key = key, Json = json.ToArray(), Actor = actor, Condition = (int)condition.Kind,
                Expected = condition.Expected.Value, K2 = secondaryKeys.K2, K3 = secondaryKeys.K3, K4 = secondaryKeys.K4,
            };
            var written = await cluster.OnPrimaryAsync<StoreWritten>(PartitionOf(layer, path), call,
                async l => await l.PutAsync(call, cancellationToken).ConfigureAwait(false), write: true, cancellationToken).ConfigureAwait(false);
            await cluster.ChangedAsync(bucket, layer).ConfigureAwait(false);
            return ToResult(written);
        }

        public async ValueTask<WriteResult> DeleteAsync(string layer, string path, string key, string actor, WriteCondition condition = default,
            CancellationToken cancellationToken = default)
        {
            var call = new StoreDelete
            {
                Bucket = bucket, Layer = layer, Path = path, Key = key, Actor = actor, Condition = (int)condition.Kind, Expected = condition.Expected.Value,
            };
            var written = await cluster.OnPrimaryAsync<StoreWritten>(PartitionOf(layer, path), call,
                async l => await l.DeleteAsync(call, cancellationToken).ConfigureAwait(false), write: true, cancellationToken).ConfigureAwait(false);
            await cluster.ChangedAsync(bucket, layer).ConfigureAwait(false);
            return ToResult(written);
        }

        public async ValueTask<long> DeleteTreeAsync(string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default)
        {
            if (!AddressRules.TryNormalizePath(pathPrefix ?? "", out _)) throw new EngineException(EngineError.BadPath, "invalid path");
            StoreDeleteTree Call(int[] parts) => new() { Bucket = bucket, Layer = layer, Prefix = pathPrefix!, Actor = actor, Partitions = parts };
            var answers = await cluster.FanOutAsync(Call, async (l, parts) => await l.DeleteTreeAsync(Call(parts), cancellationToken).ConfigureAwait(false),
                write: true, cancellationToken).ConfigureAwait(false);
            await cluster.ChangedAsync(bucket, layer).ConfigureAwait(false);
            return answers.Cast<StoreCount>().Sum(a => a.Count);
        }

        private static StoredValue ToStored(StoreValue value) => new(value.Json ?? [], new VersionId(value.Version), value.TimestampMs, value.Actor);

        private static WriteResult ToResult(StoreWritten written) =>
            new(written.Applied, new VersionId(written.Version), written.TimestampMs, written.Partition, written.Sequence);

        private static ChangeEvent ToChange(FeedItem item) => new(item.Partition, item.Sequence, item.Bucket, item.Layer, item.Path, item.Key,
            (Operation)item.Op, item.Value is null ? null : (ReadOnlyMemory<byte>?)item.Value, new VersionId(item.Version), item.TimestampMs, item.Actor);
    }

    /// <summary>After a write: layers other nodes keep cached hear of it (see <see cref="CachedLayers"/>).</summary>
    private async Task ChangedAsync(string bucket, string layer)
    {
        if (CachedLayers.Contains(layer)) await _node.InvalidateAsync(bucket, layer).ConfigureAwait(false);
    }

    /// <summary>Layers every node keeps in memory and reloads when told (the deny rules).</summary>
    public static readonly IReadOnlySet<string> CachedLayers = new HashSet<string>(StringComparer.Ordinal) { "auth" };
}
