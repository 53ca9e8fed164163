using System.Collections.Concurrent;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Services.Storage;

/// <summary>
/// <see cref="IStore"/> over this node's <see cref="Kv4Store"/>. A view per bucket is made once and kept, so a request
/// costs one dictionary lookup, not an allocation; views are small and buckets are few compared to requests.
/// </summary>
public sealed class EngineStore(Kv4Store store) : IStore
{
    private const int MaxCachedViews = 100_000;

    private readonly ConcurrentDictionary<string, View> _views = new(StringComparer.Ordinal);

    // One node: nothing changes elsewhere.
    public event Action<string, string>? ChangedElsewhere
    {
        add { }
        remove { }
    }

    public IBucketView Bucket(string bucket)
    {
        if (_views.TryGetValue(bucket, out var view)) return view;
        if (_views.Count >= MaxCachedViews) _views.Clear();
        return _views.GetOrAdd(bucket, static (b, s) => new View(s, b), store);
    }

    public ValueTask<IReadOnlyList<string>> ListBucketsAsync(string prefix = "", CancellationToken cancellationToken = default) =>
        new(store.ListBuckets(prefix));

    public ValueTask<long> DeleteBucketAsync(string bucket, string actor, CancellationToken cancellationToken = default) =>
        store.DeleteBucketAsync(bucket, actor, cancellationToken);

    public ValueTask<Kv4.Engine.Backups.BackupSummary> WriteBackupAsync(Stream output, CancellationToken cancellationToken = default) =>
        store.WriteBackupAsync(output, cancellationToken);

    private sealed class View(Kv4Store store, string bucket) : IBucketView
    {
        public string Bucket => bucket;

        public ValueTask<long> IncarnationAsync(CancellationToken cancellationToken = default) => new(store.BucketIncarnation(bucket));

        public ValueTask<StoredValue?> GetLatestAsync(string layer, string path, string key, CancellationToken cancellationToken = default) =>
            new(store.TryGetLatest(new EntryAddress(bucket, layer, path, key), out var value) ? value : null);

        public ValueTask<KeyedValue?> GetBySecondaryKeyAsync(string layer, string path, SecondaryKeySlot slot, string secondaryKey,
            CancellationToken cancellationToken = default) =>
            new(store.TryGetBySecondaryKey(bucket, layer, path, slot, secondaryKey, out var key, out var value) ? new KeyedValue(key, value) : null);

        public ValueTask<SecondaryKeys?> GetSecondaryKeysAsync(string layer, string path, string key, CancellationToken cancellationToken = default) =>
            new(store.TryGetSecondaryKeys(new EntryAddress(bucket, layer, path, key), out var secondaryKeys) ? secondaryKeys : null);

        public ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, CancellationToken cancellationToken = default) =>
            new(store.ListKeys(bucket, layer, path));

        public ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, string? after, int max, CancellationToken cancellationToken = default) =>
            new(store.ListKeys(bucket, layer, path, after, max));

        public ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth = null, CancellationToken cancellationToken = default) =>
            new(store.ListPaths(bucket, layer, prefix, maxDepth));

        public ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth, string? after, int max,
            CancellationToken cancellationToken = default) =>
            new(store.ListPaths(bucket, layer, prefix, maxDepth, after, max));

        public ValueTask<IReadOnlyList<LayerCount>> ListLayersAsync(CancellationToken cancellationToken = default) => new(store.ListLayers(bucket));

        public ValueTask<StoredValue?> GetAtAsync(string layer, string path, string key, long atMs, CancellationToken cancellationToken = default) =>
            store.GetAtAsync(new EntryAddress(bucket, layer, path, key), atMs, cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListKeysAtAsync(string layer, string path, long atMs, string? after, int max,
            CancellationToken cancellationToken = default) =>
            store.ListKeysAtAsync(bucket, layer, path, atMs, after, max, cancellationToken);

        public ValueTask<IReadOnlyList<string>> ListPathsAtAsync(string layer, string prefix, int? maxDepth, long atMs, string? after, int max,
            CancellationToken cancellationToken = default) =>
            store.ListPathsAtAsync(bucket, layer, prefix, maxDepth, atMs, after, max, null, cancellationToken);

        public ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string layer, string path, string key, HistoryQuery query,
            CancellationToken cancellationToken = default) =>
            store.GetHistoryAsync(new EntryAddress(bucket, layer, path, key), query, cancellationToken);

        public ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string layer, string path, HistoryQuery query,
            CancellationToken cancellationToken = default) =>
            store.GetPathHistoryAsync(bucket, layer, path, query, cancellationToken);

        public IAsyncEnumerable<HistoryEntry> ReadHistoryAsync(string layer, string path, string key, HistoryQuery query,
            HistoryPosition? after = null, CancellationToken cancellationToken = default) =>
            store.ReadHistoryAsync(new EntryAddress(bucket, layer, path, key), query, after, cancellationToken);

        public IAsyncEnumerable<HistoryEntry> ReadPathHistoryAsync(string layer, string path, HistoryQuery query,
            HistoryPosition? after = null, CancellationToken cancellationToken = default) =>
            store.ReadPathHistoryAsync(bucket, layer, path, query, after, cancellationToken);

        public IAsyncEnumerable<ChangeEvent> ReadChangesAsync(string? layer, string pathPrefix, FeedCursor after,
            CancellationToken cancellationToken = default) =>
            store.ReadChangesAsync(new ChangeFilter(bucket, layer, pathPrefix), after, cancellationToken);

        public ValueTask<FeedCursor> CurrentCursorAsync(CancellationToken cancellationToken = default) => new(store.CurrentCursor());

        public ValueTask<WriteResult> PutAsync(string layer, string path, string key, ReadOnlyMemory<byte> json, string actor,
            WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default) =>
            store.PutAsync(new EntryAddress(bucket, layer, path, key), json, actor, condition, secondaryKeys, cancellationToken);

        public ValueTask<WriteResult> DeleteAsync(string layer, string path, string key, string actor,
            WriteCondition condition = default, CancellationToken cancellationToken = default) =>
            store.DeleteAsync(new EntryAddress(bucket, layer, path, key), actor, condition, cancellationToken);

        public ValueTask<long> DeleteTreeAsync(string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default) =>
            store.DeleteTreeAsync(bucket, layer, pathPrefix, actor, cancellationToken);
    }
}
