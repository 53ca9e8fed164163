using Kv4.Engine.Index;
using Kv4.Engine.Log;
using Kv4.Engine.Model;
using Kv4.Engine.Partitioning;
using Kv4.Engine.Rules;

namespace Kv4.Engine;

/// <summary>
/// Reads as of a point in time: the state an entry, a path's keys or a layer's paths had at instant <c>atMs</c> (unix
/// ms, inclusive), rebuilt from the version chains. An entry's state at t is its newest version (in chain order) stamped
/// at or before t: live if that version is a put, absent if it is a tombstone or if every version is later.
/// Example, key k of path a: put v1 @1000, put v2 @2000, delete @3000, put v3 @4000. Then
/// <code>
///   at  999 → absent (nothing yet)      at 1000..1999 → v1      at 2000..2999 → v2
///   at 3000..3999 → absent (deleted)    at 4000..     → v3 (answered from memory: the head is old enough)
/// </code>
/// A read walks the chain from the head back only until it finds a version old enough, so reads near now cost
/// nothing and reads far back cost one log read per newer version. Versions carry the primary's clock, so every
/// replica of a partition answers the same. A dropped bucket's history goes with it: its entries are absent at any t.
/// </summary>
public sealed partial class Kv4Store
{
    /// <summary>The entry's value at <paramref name="atMs"/>; null when it was not live then.</summary>
    public async ValueTask<StoredValue?> GetAtAsync(EntryAddress address, long atMs, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var (bucket, layer, path, key) = Validate(address);
        var generation = EnterLog();
        try
        {
            return await StateAtAsync(new ChainOwner(bucket, layer, path, key), index.Find(bucket, layer, path, key), atMs, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            ExitLog(generation);
        }
    }

    /// <summary>
    /// A page of the keys at exactly this path that were live at <paramref name="atMs"/>: the first <paramref name="max"/>
    /// that sort (ordinally) after <paramref name="after"/>. Keys are looked at in order, so a page reads the log only
    /// for the keys up to its last one.
    /// </summary>
    public async ValueTask<IReadOnlyList<string>> ListKeysAtAsync(string bucket, string layer, string path, long atMs, string? after, int max,
        CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, path);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        if (index.FindNode(bucket, layer, normalized)?.Entries is not { } entries) return [];
        var candidates = entries.Where(e => after is null || string.CompareOrdinal(e.Key, after) > 0).ToList();
        candidates.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var page = new List<string>();
        var generation = EnterLog();
        try
        {
            foreach (var (key, entry) in candidates)
            {
                if (page.Count >= max) break;
                if (await StateAtAsync(new ChainOwner(bucket, layer, normalized, key), entry, atMs, cancellationToken).ConfigureAwait(false) is not null)
                    page.Add(key);
            }
        }
        finally
        {
            ExitLog(generation);
        }
        return page;
    }

    /// <summary>
    /// A page of the paths at or under <paramref name="prefix"/> (at most <paramref name="maxDepth"/> segments from the
    /// root) that held a live entry at <paramref name="atMs"/>, sorted ordinally, after <paramref name="after"/>; only
    /// the paths of <paramref name="partitions"/> (null: all). Every path that ever held an entry is a candidate (a
    /// node stays in the index after its last key is deleted), and each is decided by its first key live then.
    /// </summary>
    public async ValueTask<IReadOnlyList<string>> ListPathsAtAsync(string bucket, string layer, string prefix, int? maxDepth, long atMs,
        string? after, int max, PartitionSet? partitions = null, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var normalized = ValidateLocation(bucket, layer, prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        if (maxDepth < 0 || index.FindLayer(bucket, layer) is not { } tree) return [];
        var candidates = new List<PathNode>();
        foreach (var node in tree.EnumerateNodes(normalized, maxDepth))
        {
            if (node.Entries is not { IsEmpty: false }) continue;
            if (after is not null && string.CompareOrdinal(node.Path, after) <= 0) continue;
            if (partitions is not null && !partitions.Contains(partitionMap.PartitionOf(bucket, layer, node.Path))) continue;
            candidates.Add(node);
        }
        candidates.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));
        var page = new List<string>();
        var generation = EnterLog();
        try
        {
            foreach (var node in candidates)
            {
                if (page.Count >= max) break;
                foreach (var (key, entry) in node.Entries!)
                {
                    if (await StateAtAsync(new ChainOwner(bucket, layer, node.Path, key), entry, atMs, cancellationToken).ConfigureAwait(false) is null)
                        continue;
                    page.Add(node.Path);
                    break;
                }
            }
        }
        finally
        {
            ExitLog(generation);
        }
        return page;
    }

    /// <summary>The caller holds a log lease: the state at <paramref name="atMs"/> of the entry whose index head is <paramref name="head"/>.</summary>
    private async ValueTask<StoredValue?> StateAtAsync(ChainOwner owner, IndexEntry? head, long atMs, CancellationToken cancellationToken)
    {
        if (Visible(head) is not { } visible) return null;
        if (visible.TimestampMs <= atMs) return visible.IsLive ? visible.ToStoredValue() : null;
        var address = Follow(visible.LogAddress);
        var newer = long.MaxValue;
        var oldestMs = visible.TimestampMs;
        var truncated = false;
        while (address != 0)
        {
            var record = await ReadChainRecordAsync(owner, address, newer, cancellationToken).ConfigureAwait(false);
            if (record.TimestampMs <= atMs) return ToStoredValue(record);
            newer = record.Version;
            oldestMs = record.TimestampMs;
            address = Volatile.Read(ref horizon).Resolve(record.PreviousAddress, out truncated);
        }
        // The chain begins after atMs; unless its rule keeps everything, the key may have had versions then that compaction
        // reclaimed with all it had (and it was written again since).
        if (truncated || (atMs <= Volatile.Read(ref horizon).ReclaimedUntilMs && !options.Retention.RuleFor(owner.Layer, owner.Path).KeepsEverything))
            throw new HistoryTruncatedException(oldestMs, $"the history of '{owner.Key}' before {oldestMs} (unix ms, its oldest retained version) was reclaimed by compaction");
        return null;
    }

    private static StoredValue? ToStoredValue(LogRecord record) =>
        record.Op == Operation.Put && record.Value is { } value
            ? new StoredValue(value, new VersionId(record.Version), record.TimestampMs, record.Actor)
            : null;
}
