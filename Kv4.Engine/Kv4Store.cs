using Kv4.Engine.Model;

namespace Kv4.Engine;

/// <summary>
/// The versioned four-dimensional store: JSON values at (bucket, layer, path, key), every write
/// appended to a durable log as a new version. Thread-safe. Reads of the latest value are served
/// from the in-memory index and never touch disk; history is read back from the log.
/// All validation (see <see cref="Rules.AddressRules"/>, <see cref="Rules.JsonValueRules"/>) happens
/// before anything is appended: a refused call throws <see cref="Rules.EngineException"/> and writes nothing.
/// </summary>
public sealed class Kv4Store : IAsyncDisposable, IDisposable
{
    private Kv4Store() => throw new NotImplementedException();

    /// <summary>Opens (or creates) the store in options.DataDirectory, recovering the index from the last checkpoint plus the log after it.</summary>
    public static Kv4Store Open(StoreOptions options) => throw new NotImplementedException();

    public StoreOptions Options => throw new NotImplementedException();

    /// <summary>The sequence number of the last acknowledged mutation (0 for an empty store).</summary>
    public long LastSequence => throw new NotImplementedException();

    /// <summary>Appends a version. <paramref name="json"/> is validated and stored compact.</summary>
    public ValueTask<WriteResult> PutAsync(EntryAddress address, ReadOnlyMemory<byte> json, string actor,
        WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Appends a tombstone. Returns Applied=false (and appends nothing) when there was no live entry and no condition.</summary>
    public ValueTask<WriteResult> DeleteAsync(EntryAddress address, string actor,
        WriteCondition condition = default, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Tombstones every live entry at <paramref name="pathPrefix"/> and below (by whole segments). Returns how many.</summary>
    public ValueTask<long> DeleteTreeAsync(string bucket, string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Drops a bucket: all its layers, entries and their histories leave the index. Returns how many live entries it held.</summary>
    public ValueTask<long> DeleteBucketAsync(string bucket, string actor, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>The latest value of a live entry, from memory.</summary>
    public bool TryGetLatest(EntryAddress address, out StoredValue value) => throw new NotImplementedException();

    /// <summary>The live entry at (bucket, layer, path) whose secondary key in <paramref name="slot"/> is <paramref name="secondaryKey"/>.</summary>
    public bool TryGetBySecondaryKey(string bucket, string layer, string path, SecondaryKeySlot slot, string secondaryKey,
        out string key, out StoredValue value) => throw new NotImplementedException();

    /// <summary>The secondary keys of the live entry's latest version.</summary>
    public bool TryGetSecondaryKeys(EntryAddress address, out SecondaryKeys secondaryKeys) => throw new NotImplementedException();

    /// <summary>The live keys at exactly this path, sorted ordinally.</summary>
    public IReadOnlyList<string> ListKeys(string bucket, string layer, string path) => throw new NotImplementedException();

    /// <summary>
    /// The paths at or under <paramref name="prefix"/> that hold at least one live entry, sorted ordinally,
    /// limited to paths of at most <paramref name="maxDepth"/> segments counted from the root (null: no limit).
    /// </summary>
    public IReadOnlyList<string> ListPaths(string bucket, string layer, string prefix, int? maxDepth = null) => throw new NotImplementedException();

    /// <summary>The layers of a bucket that hold live entries, with their counts, sorted by layer.</summary>
    public IReadOnlyList<LayerCount> ListLayers(string bucket) => throw new NotImplementedException();

    /// <summary>Buckets that hold live entries, sorted. With a prefix, only those starting with it (e.g. "elena#" for elena's sub-accounts).</summary>
    public IReadOnlyList<string> ListBuckets(string prefix = "") => throw new NotImplementedException();

    /// <summary>The versions of one key, newest first, read back through its version chain in the log. Deleted keys keep their history.</summary>
    public ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(EntryAddress address, HistoryQuery query, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>The versions of every key (live or deleted) at exactly this path, merged newest first.</summary>
    public ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string bucket, string layer, string path, HistoryQuery query, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>
    /// Streams the changes that match <paramref name="filter"/>. With <paramref name="afterSequence"/> the retained
    /// events after it are replayed from the log first, then live events follow with no gap and no duplicate;
    /// without it only live events after the call. Ends when <paramref name="cancellationToken"/> fires or the store closes.
    /// </summary>
    public IAsyncEnumerable<ChangeEvent> ReadChangesAsync(ChangeFilter filter, long? afterSequence, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>The partition (0..PartitionCount-1) that owns a (bucket, layer, path).</summary>
    public int PartitionOf(string bucket, string layer, string path) => throw new NotImplementedException();

    /// <summary>Writes an index checkpoint now (also done every CheckpointEveryRecords and on dispose).</summary>
    public ValueTask CheckpointAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Commits the log now and waits until everything appended so far is durable.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public void Dispose() => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
