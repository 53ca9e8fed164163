using System.Collections.Concurrent;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Control;
using Kv4.Cluster.Replication;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;

namespace Kv4.Cluster.Routing;

/// <summary>
/// The store calls this node answers for the partitions it leads, whether they came from a request here or over the
/// bus from another node. Each call first checks that this node leads the partition now and holds its lease
/// (<see cref="BusFault.NotPrimary"/> otherwise: the caller looks again and retries elsewhere); a write returns
/// once its version is acknowledged (on every in-sync replica), and a write whose acknowledgement does not come in
/// time answers <see cref="BusFault.Unavailable"/>: it may or may not have been kept.
/// </summary>
internal sealed class LocalPartitions(Kv4Store store, PartitionRoles roles, NodeLease lease, ControlPlane plane, ClusterOptions options)
{
    private readonly ConcurrentDictionary<long, FeedSession> _feeds = new();
    private long _nextFeed;

    public Kv4Store Store => store;

    public int PartitionCount => store.PartitionCount;

    /// <summary>Whether this node leads the partition and may serve it now.</summary>
    public bool Leads(int partition) => roles.LeaderOf(partition) is not null && lease.IsValid(plane.AppliedVersion);

    private PartitionLeader Lead(int partition)
    {
        if (roles.LeaderOf(partition) is not { } leader) throw new BusCallException(BusFault.NotPrimary, $"{plane.State.Partitions.ElementAtOrDefault(partition)?.Primary ?? "no node"} leads partition {partition}");
        // Refused before anything ran, so the caller may look again (and answer unavailable if no primary serves in time).
        if (!lease.IsValid(plane.AppliedVersion)) throw new BusCallException(BusFault.NotPrimary, "this node has lost touch with the control plane");
        return leader;
    }

    private PartitionSet LeadAll(int[] partitions)
    {
        foreach (var p in partitions) Lead(p);
        return PartitionSet.Of(store.PartitionCount, partitions);
    }

    /// <summary>The partition of a location, with the engine's own rules for a path it would refuse.</summary>
    public int PartitionOf(string bucket, string layer, string path)
    {
        if (!AddressRules.TryNormalizePath(path ?? "", out var normalized)) throw new EngineException(EngineError.BadPath, "invalid path");
        return store.PartitionOf(bucket, layer, normalized);
    }

    public StoreValue Get(StoreGet call)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        return store.TryGetLatest(new EntryAddress(call.Bucket, call.Layer, call.Path, call.Key), out var value) ? ToMessage(value) : new StoreValue();
    }

    public StoreValue GetBySecondary(StoreGetBySecondary call)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        return store.TryGetBySecondaryKey(call.Bucket, call.Layer, call.Path, (SecondaryKeySlot)call.Slot, call.SecondaryKey, out var key, out var value)
            ? ToMessage(value, key) : new StoreValue();
    }

    public StoreSecondaryKeys GetSecondaryKeys(StoreGetSecondaryKeys call)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        return store.TryGetSecondaryKeys(new EntryAddress(call.Bucket, call.Layer, call.Path, call.Key), out var keys)
            ? new StoreSecondaryKeys { Found = true, K2 = keys.K2, K3 = keys.K3, K4 = keys.K4 } : new StoreSecondaryKeys();
    }

    public StoreStrings ListKeys(StoreListKeys call)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        var keys = call.Max < 0 ? store.ListKeys(call.Bucket, call.Layer, call.Path) : store.ListKeys(call.Bucket, call.Layer, call.Path, call.After, call.Max);
        return new StoreStrings { Items = [.. keys] };
    }

    public StoreStrings ListPaths(StoreListPaths call)
    {
        var partitions = LeadAll(call.Partitions);
        var paths = store.ListPaths(call.Bucket, call.Layer, call.Prefix, call.MaxDepth, call.After, call.Max < 0 ? int.MaxValue : call.Max, partitions);
        return new StoreStrings { Items = [.. paths] };
    }

    public async Task<StoreValue> GetAtAsync(StoreGetAt call, CancellationToken cancellationToken)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        return await store.GetAtAsync(new EntryAddress(call.Bucket, call.Layer, call.Path, call.Key), call.AtMs, cancellationToken).ConfigureAwait(false)
            is { } value ? ToMessage(value) : new StoreValue();
    }

    public async Task<StoreStrings> ListKeysAtAsync(StoreListKeysAt call, CancellationToken cancellationToken)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        var keys = await store.ListKeysAtAsync(call.Bucket, call.Layer, call.Path, call.AtMs, call.After, call.Max, cancellationToken).ConfigureAwait(false);
        return new StoreStrings { Items = [.. keys] };
    }

    public async Task<StoreStrings> ListPathsAtAsync(StoreListPathsAt call, CancellationToken cancellationToken)
    {
        var partitions = LeadAll(call.Partitions);
        var paths = await store.ListPathsAtAsync(call.Bucket, call.Layer, call.Prefix, call.MaxDepth, call.AtMs, call.After, call.Max, partitions,
            cancellationToken).ConfigureAwait(false);
        return new StoreStrings { Items = [.. paths] };
    }

    public StoreLayers ListLayers(StoreListLayers call)
    {
        var layers = store.ListLayers(call.Bucket, LeadAll(call.Partitions));
        return new StoreLayers { Layers = [.. layers.Select(l => l.Layer)], Counts = [.. layers.Select(l => l.Entries)] };
    }

    public StoreStrings ListBuckets(StoreListBuckets call) =>
        new() { Items = [.. store.ListBuckets(call.Prefix, LeadAll(call.Partitions))] };

    public async Task<StoreWritten> PutAsync(StorePut call, CancellationToken cancellationToken)
    {
        var leader = Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        var result = await Refused(() => store.PutAsync(new EntryAddress(call.Bucket, call.Layer, call.Path, call.Key), call.Json, call.Actor,
            new WriteCondition((WriteConditionKind)call.Condition, new VersionId(call.Expected)), new SecondaryKeys(call.K2, call.K3, call.K4),
            cancellationToken)).ConfigureAwait(false);
        await AcknowledgedAsync(leader, result.PartitionSequence, cancellationToken).ConfigureAwait(false);
        return ToMessage(result);
    }

    public async Task<StoreWritten> DeleteAsync(StoreDelete call, CancellationToken cancellationToken)
    {
        var leader = Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        var result = await Refused(() => store.DeleteAsync(new EntryAddress(call.Bucket, call.Layer, call.Path, call.Key), call.Actor,
            new WriteCondition((WriteConditionKind)call.Condition, new VersionId(call.Expected)), cancellationToken)).ConfigureAwait(false);
        if (result.Applied) await AcknowledgedAsync(leader, result.PartitionSequence, cancellationToken).ConfigureAwait(false);
        return ToMessage(result);
    }

    public async Task<StoreCount> DeleteTreeAsync(StoreDeleteTree call, CancellationToken cancellationToken)
    {
        var partitions = LeadAll(call.Partitions);
        var count = await Refused(() => store.DeleteTreeAsync(call.Bucket, call.Layer, call.Prefix, call.Actor, partitions, cancellationToken)).ConfigureAwait(false);
        await AcknowledgedAllAsync(call.Partitions, cancellationToken).ConfigureAwait(false);
        return new StoreCount { Count = count };
    }

    public async Task<StoreCount> DropBucketAsync(StoreDropBucket call, CancellationToken cancellationToken)
    {
        var partitions = LeadAll(call.Partitions);
        var count = await Refused(() => store.DeleteBucketAsync(call.Bucket, call.Actor, partitions, cancellationToken)).ConfigureAwait(false);
        await AcknowledgedAllAsync(call.Partitions, cancellationToken).ConfigureAwait(false);
        return new StoreCount { Count = count };
    }

    public async Task<StoreHistoryPage> HistoryAsync(StoreHistory call, CancellationToken cancellationToken)
    {
        Lead(PartitionOf(call.Bucket, call.Layer, call.Path));
        var query = new HistoryQuery(call.FromMs, call.ToMs, call.Limit);
        HistoryPosition? after = call.HasAfter ? new HistoryPosition(call.AfterAddress, call.AfterPrevious, call.AfterVersion) : null;
        var versions = call.Key is { } key
            ? store.ReadHistoryAsync(new EntryAddress(call.Bucket, call.Layer, call.Path, key), query, after, cancellationToken)
            : store.ReadPathHistoryAsync(call.Bucket, call.Layer, call.Path, query, after, cancellationToken);
        var page = new List<HistoryItem>();
        var more = false;
        await foreach (var version in versions.ConfigureAwait(false))
        {
            if (page.Count == call.Max)
            {
                more = true;
                break;
            }
            page.Add(new HistoryItem
            {
                Key = version.Key, TimestampMs = version.TimestampMs, Actor = version.Actor, Op = (byte)version.Op,
                Value = version.Value?.ToArray(), Version = version.Version.Value,
                Address = version.Position.Address, PreviousAddress = version.Position.PreviousAddress,
            });
        }
        return new StoreHistoryPage { Entries = [.. page], More = more };
    }

    /// <summary>A page of a partition's records for a backup of the cluster, never past what the backup's cut acknowledged.</summary>
    public async Task<StoreRecords> ReadRecordsAsync(StoreReadRecords call, string self)
    {
        Lead(call.Partition);
        var after = call.AfterSequence;
        if (after >= call.UpToSequence) return new StoreRecords { Last = after, Node = self };
        var replication = store.Replication!;
        if (after < replication.HistoryStart(call.Partition) || call.Horizon is not null)
        {
            // Compacted: the retained versions up to the history start first, read page by page with no compaction in between.
            var retained = await replication.ReadRetainedAsync(call.Partition, after, BackupPageRecords, BackupPageBytes).ConfigureAwait(false);
            if ((call.Horizon is { } horizon && horizon != retained.HorizonAddress) || (call.Horizon is not null && call.ResumeNode != self))
                throw new EngineException(EngineError.Unavailable,
                    $"partition {call.Partition} was compacted (or moved) while the backup read its retained versions: take the backup again");
            if (retained.UpTo > call.UpToSequence)
                throw new EngineException(EngineError.Unavailable,
                    $"partition {call.Partition} compacted records not yet acknowledged when the backup was cut: take the backup again");
            return new StoreRecords
            {
                Records = [.. retained.Records], Last = retained.Last, Node = self, Retained = true, UpTo = retained.UpTo,
                Epochs = [.. retained.Epochs.Select(e => e.Epoch)], FirstSequences = [.. retained.Epochs.Select(e => e.FirstSequence)],
                Horizon = retained.HorizonAddress,
            };
        }
        var resume = call.ResumeNode == self ? call.Resume : 0;
        var (page, next) = await replication.ReadRecordsAsync(call.Partition, after, resume, BackupPageRecords, BackupPageBytes).ConfigureAwait(false);
        // The page runs on from after + 1 with no gap: keep the records up to the cut.
        var keep = (int)Math.Min(page.Records.Count, call.UpToSequence - after);
        return new StoreRecords { Records = [.. page.Records.Take(keep)], Last = after + keep, Resume = next, Node = self };
    }

    private const int BackupPageRecords = 1024;
    private const int BackupPageBytes = 2 << 20;

    public StorePositions Positions(StoreCursor call)
    {
        LeadAll(call.Partitions);
        var cursor = store.CurrentCursor();
        return new StorePositions { Partitions = call.Partitions, Versions = [.. call.Partitions.Select(p => Acknowledged(cursor, p))] };
    }

    /// <summary>A partition's position for a new reader: its acknowledged version (what readers may see).</summary>
    private long Acknowledged(FeedCursor appended, int partition)
    {
        var state = store.Replication!.State(partition);
        return Math.Min(appended[partition], state.VisibleVersion);
    }

    public FeedOpened OpenFeed(FeedOpen call)
    {
        var partitions = LeadAll(call.Partitions);
        if (!FeedCursor.TryParse(call.Cursor, out var cursor)) throw new EngineException(EngineError.BadCursor, "not a feed cursor");
        var id = Interlocked.Increment(ref _nextFeed);
        _feeds[id] = new FeedSession(store, new ChangeFilter(call.Bucket, call.Layer, call.Prefix, partitions), cursor, () => _feeds.TryRemove(id, out _));
        return new FeedOpened { Id = id };
    }

    public async Task<FeedEvents> NextAsync(FeedNext call, CancellationToken cancellationToken)
    {
        if (!_feeds.TryGetValue(call.Id, out var session)) return new FeedEvents { Ended = true };
        var events = await session.NextAsync(Math.Clamp(call.Max, 1, 4096), TimeSpan.FromMilliseconds(Math.Clamp(call.WaitMs, 0, 30_000)),
            p => Leads(p), cancellationToken).ConfigureAwait(false);
        return events;
    }

    public Done CloseFeed(FeedClose call)
    {
        if (_feeds.TryRemove(call.Id, out var session)) session.Dispose();
        return Done.Instance;
    }

    /// <summary>Feed sessions nobody pulled for a while (their reader's node went away) are closed.</summary>
    public void SweepFeeds(TimeSpan idle)
    {
        foreach (var (id, session) in _feeds)
            if (session.IdleFor > idle && _feeds.TryRemove(id, out _)) session.Dispose();
    }

    private async Task AcknowledgedAsync(PartitionLeader leader, long sequence, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.RequestTimeout);
        try
        {
            await leader.WaitAcknowledgedAsync(sequence, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BusCallException(BusFault.Unavailable, $"partition {leader.Partition}: the write was not acknowledged in time; it may or may not be kept");
        }
    }

    private async Task AcknowledgedAllAsync(int[] partitions, CancellationToken cancellationToken)
    {
        foreach (var p in partitions)
            if (roles.LeaderOf(p) is { } leader) await AcknowledgedAsync(leader, store.Replication!.Sequence(p), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A write the engine refused because this node no longer leads: nothing was written, so the caller may retry elsewhere.</summary>
    private static async Task<T> Refused<T>(Func<ValueTask<T>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch (EngineException e) when (e.Error == EngineError.NotPrimary)
        {
            throw new BusCallException(BusFault.NotPrimary, e.Message);
        }
    }

    private static StoreValue ToMessage(StoredValue value, string? key = null) => new()
    {
        Found = true, Json = value.Json.ToArray(), Version = value.Version.Value, TimestampMs = value.TimestampMs, Actor = value.Actor, Key = key,
    };

    private static StoreWritten ToMessage(WriteResult result) => new()
    {
        Applied = result.Applied, Version = result.Version.Value, TimestampMs = result.TimestampMs, Partition = result.Partition, Sequence = result.PartitionSequence,
    };
}
