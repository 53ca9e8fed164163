using Kv4.Engine.Model;
using Kv4.Engine.Rules;

namespace Kv4.Tests.Engine;

/// <summary>
/// The plain in-memory meaning of the store, written from the API's documentation and nothing else:
/// every address keeps the list of its versions, oldest first, and a flag for whether it is live;
/// the list of mutations, in the order they were made, is the change feed (one writer at a time, so that order
/// is also every partition's). The model does not invent version ids: it takes them from the engine's answers
/// and checks they are fresh (each greater than every earlier one of its partition), so it can be compared with
/// any numbering that grows within a partition.
///
/// Example state after put(b1/_data/a?k=k1, 1) at t=1000, put(same, 2, k2="e1") at t=2000, delete(same) at t=3000:
/// <code>
///   entries[b1/_data/a?k=k1] = { Live: false, SecondaryKeys: none,
///                                Versions: [Put 1 v1 t1000, Put 2 v2 t2000, Delete null v3 t3000] }
///   changes = [(k1, v1), (k1, v2), (k1, v3)]       AppendedRecords = 3     partition of a: last version v3
/// </code>
/// </summary>
internal sealed class StoreModel
{
    private readonly Dictionary<EntryAddress, Entry> _entries = [];

    public List<Change> Changes { get; } = [];

    private readonly Dictionary<int, VersionId> _lastVersion = [];

    /// <summary>How many records the mutations so far appended.</summary>
    public long AppendedRecords { get; private set; }

    /// <summary>The version of the partition's last mutation (None: none yet).</summary>
    public VersionId LastVersionIn(int partition) => _lastVersion.GetValueOrDefault(partition);

    /// <summary>The feed cursor just after the first <paramref name="changes"/> changes: each partition at its last version among them.</summary>
    public FeedCursor CursorAfter(int changes, int partitionCount)
    {
        var cursor = FeedCursor.Beginning(partitionCount);
        foreach (var change in Changes.Take(changes)) cursor.Set(change.Partition, change.Version.Version.Value);
        return cursor;
    }

    public sealed class Entry
    {
        public List<ModelVersion> Versions { get; } = [];
        public bool Live { get; set; }
        public SecondaryKeys SecondaryKeys { get; set; }
        public ModelVersion Latest => Versions[^1];
    }

    public sealed record ModelVersion(Operation Op, byte[]? Value, VersionId Version, long TimestampMs, string Actor);

    /// <summary>One mutation as the feed must deliver it; PartitionSequence is known when the engine reported it for that write.</summary>
    public sealed record Change(EntryAddress Address, ModelVersion Version, int Partition, long? PartitionSequence);

    public bool TryGetLive(EntryAddress address, out Entry entry)
    {
        if (_entries.TryGetValue(address, out var found) && found.Live)
        {
            entry = found;
            return true;
        }
        entry = null!;
        return false;
    }

    public IReadOnlyList<ModelVersion> VersionsOf(EntryAddress address) =>
        _entries.TryGetValue(address, out var entry) ? entry.Versions : [];

    public VersionId CurrentVersion(EntryAddress address) =>
        TryGetLive(address, out var entry) ? entry.Latest.Version : VersionId.None;

    /// <summary>A version that is not the entry's current one: an older one of the same key if any, else one that never existed.</summary>
    public VersionId StaleVersion(EntryAddress address)
    {
        var versions = VersionsOf(address);
        var current = CurrentVersion(address);
        foreach (var v in versions)
            if (v.Version != current) return v.Version;
        return VersionId.Of(VersionId.MaxEpoch, 0, 1);
    }

    /// <summary>The errors a put may be refused with; empty when it must succeed. With two reasons either may be reported.</summary>
    public HashSet<EngineError> PutErrors(EntryAddress address, WriteCondition condition, SecondaryKeys secondaryKeys)
    {
        var errors = ConditionErrors(address, condition);
        if (SecondaryKeyTaken(address, secondaryKeys)) errors.Add(EngineError.SecondaryKeyTaken);
        return errors;
    }

    public HashSet<EngineError> DeleteErrors(EntryAddress address, WriteCondition condition) => ConditionErrors(address, condition);

    private HashSet<EngineError> ConditionErrors(EntryAddress address, WriteCondition condition)
    {
        var live = TryGetLive(address, out var entry);
        var errors = new HashSet<EngineError>();
        switch (condition.Kind)
        {
            case WriteConditionKind.IfVersion when !live:
                errors.Add(EngineError.NotFound);
                break;
            case WriteConditionKind.IfVersion when entry.Latest.Version != condition.Expected:
                errors.Add(EngineError.VersionConflict);
                break;
            case WriteConditionKind.IfAbsent when live:
                errors.Add(EngineError.Exists);
                break;
        }
        return errors;
    }

    private bool SecondaryKeyTaken(EntryAddress address, SecondaryKeys wanted)
    {
        foreach (var (other, entry) in _entries)
        {
            if (!entry.Live || other == address) continue;
            if (other.Bucket != address.Bucket || other.Layer != address.Layer || other.Path != address.Path) continue;
            foreach (var slot in Slots)
                if (wanted[slot] is { } value && entry.SecondaryKeys[slot] == value) return true;
        }
        return false;
    }

    public static readonly SecondaryKeySlot[] Slots = [SecondaryKeySlot.K2, SecondaryKeySlot.K3, SecondaryKeySlot.K4];

    public void ApplyPut(EntryAddress address, byte[] compactValue, VersionId version, long timestampMs, string actor,
        SecondaryKeys secondaryKeys, int partition, long? partitionSequence)
    {
        var entry = GetOrAdd(address);
        var v = new ModelVersion(Operation.Put, compactValue, version, timestampMs, actor);
        entry.Versions.Add(v);
        entry.Live = true;
        entry.SecondaryKeys = secondaryKeys;
        Record(address, v, partition, partitionSequence);
    }

    public void ApplyDelete(EntryAddress address, VersionId version, long timestampMs, string actor, int partition, long? partitionSequence)
    {
        var entry = GetOrAdd(address);
        var v = new ModelVersion(Operation.Delete, null, version, timestampMs, actor);
        entry.Versions.Add(v);
        entry.Live = false;
        entry.SecondaryKeys = SecondaryKeys.None;
        Record(address, v, partition, partitionSequence);
    }

    /// <summary>True when the bucket holds any entry, live or deleted (so dropping it has something to remove).</summary>
    public bool HoldsAnything(string bucket) => _entries.Keys.Any(a => a.Bucket == bucket);

    /// <summary>Drops the bucket: its entries and histories go; the drop itself is a change of the bucket with empty layer, path and key.</summary>
    public void ApplyDropBucket(string bucket, VersionId version, long timestampMs, string actor, int partition)
    {
        foreach (var address in _entries.Keys.Where(a => a.Bucket == bucket).ToList())
            _entries.Remove(address);
        Record(new EntryAddress(bucket, "", "", ""), new ModelVersion(Operation.DropBucket, null, version, timestampMs, actor), partition, null);
    }

    private void Record(EntryAddress address, ModelVersion version, int partition, long? partitionSequence)
    {
        Changes.Add(new Change(address, version, partition, partitionSequence));
        AppendedRecords++;
        _lastVersion[partition] = version.Version;
    }

    private Entry GetOrAdd(EntryAddress address)
    {
        if (!_entries.TryGetValue(address, out var entry)) _entries[address] = entry = new Entry();
        return entry;
    }

    private IEnumerable<EntryAddress> LiveAddresses() => _entries.Where(e => e.Value.Live).Select(e => e.Key);

    /// <summary>Live addresses at <paramref name="prefix"/> and below, by whole segments.</summary>
    public List<EntryAddress> LiveUnder(string bucket, string layer, string prefix) =>
        LiveAddresses().Where(a => a.Bucket == bucket && a.Layer == layer && AddressRules.IsUnder(a.Path, prefix)).ToList();

    public List<string> Keys(string bucket, string layer, string path) =>
        LiveAddresses().Where(a => a.Bucket == bucket && a.Layer == layer && a.Path == path)
            .Select(a => a.Key).Order(StringComparer.Ordinal).ToList();

    public List<string> Paths(string bucket, string layer, string prefix, int? maxDepth) =>
        LiveAddresses().Where(a => a.Bucket == bucket && a.Layer == layer && AddressRules.IsUnder(a.Path, prefix)
                                   && (maxDepth is null || Depth(a.Path) <= maxDepth))
            .Select(a => a.Path).Distinct().Order(StringComparer.Ordinal).ToList();

    public static int Depth(string path) => path.Length == 0 ? 0 : path.Count(c => c == '/') + 1;

    public List<LayerCount> Layers(string bucket) =>
        LiveAddresses().Where(a => a.Bucket == bucket).GroupBy(a => a.Layer)
            .Select(g => new LayerCount(g.Key, g.Count())).OrderBy(l => l.Layer, StringComparer.Ordinal).ToList();

    public List<string> Buckets(string prefix) =>
        LiveAddresses().Select(a => a.Bucket).Where(b => b.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct().Order(StringComparer.Ordinal).ToList();

    public (string Key, ModelVersion Value)? BySecondaryKey(string bucket, string layer, string path, SecondaryKeySlot slot, string value)
    {
        foreach (var (address, entry) in _entries)
            if (entry.Live && address.Bucket == bucket && address.Layer == layer && address.Path == path && entry.SecondaryKeys[slot] == value)
                return (address.Key, entry.Latest);
        return null;
    }

    /// <summary>Newest first, within [from, to], at most limit: what GetHistoryAsync must answer.</summary>
    public List<ModelVersion> History(EntryAddress address, HistoryQuery query) =>
        VersionsOf(address).Where(v => v.TimestampMs >= query.FromMs && v.TimestampMs <= query.ToMs)
            .OrderByDescending(v => v.Version.Value).Take(query.Limit).ToList();

    /// <summary>Every version of every key at exactly this path, live or deleted, newest first.</summary>
    public List<(string Key, ModelVersion Version)> PathHistory(string bucket, string layer, string path) =>
        _entries.Where(e => e.Key.Bucket == bucket && e.Key.Layer == layer && e.Key.Path == path)
            .SelectMany(e => e.Value.Versions.Select(v => (e.Key.Key, v)))
            .OrderByDescending(x => x.v.Version.Value).ToList();
}
