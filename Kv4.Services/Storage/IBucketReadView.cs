using Kv4.Engine.Model;

namespace Kv4.Services.Storage;

/// <summary>
/// What a service may read, for one bucket: the bucket is fixed when the view is made (from the caller's
/// credentials), so no call can name another. Latest values come from memory; history is read from the log. Every read
/// is asynchronous because a cluster's view may answer it from another node; over this node's engine it completes at once.
/// </summary>
public interface IBucketReadView
{
    string Bucket { get; }

    /// <summary>Which life of the bucket this is: it changes when the bucket is dropped and used again.</summary>
    ValueTask<long> IncarnationAsync(CancellationToken cancellationToken = default);

    /// <summary>The entry's latest value; null when it is not live.</summary>
    ValueTask<StoredValue?> GetLatestAsync(string layer, string path, string key, CancellationToken cancellationToken = default);

    ValueTask<KeyedValue?> GetBySecondaryKeyAsync(string layer, string path, SecondaryKeySlot slot, string secondaryKey,
        CancellationToken cancellationToken = default);

    ValueTask<SecondaryKeys?> GetSecondaryKeysAsync(string layer, string path, string key, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, CancellationToken cancellationToken = default);

    /// <summary>A page of the keys: the first <paramref name="max"/> after <paramref name="after"/>.</summary>
    ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, string? after, int max, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth = null, CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth, string? after, int max,
        CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<LayerCount>> ListLayersAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The entry's value as of <paramref name="atMs"/> (unix ms): its newest version stamped at or before then; null
    /// when it was not live then (not yet written, or deleted). Read back from the log when the latest is newer.
    /// </summary>
    ValueTask<StoredValue?> GetAtAsync(string layer, string path, string key, long atMs, CancellationToken cancellationToken = default);

    /// <summary>A page of the keys that were live at <paramref name="atMs"/>: the first <paramref name="max"/> after <paramref name="after"/>.</summary>
    ValueTask<IReadOnlyList<string>> ListKeysAtAsync(string layer, string path, long atMs, string? after, int max,
        CancellationToken cancellationToken = default);

    /// <summary>A page of the paths that held a live entry at <paramref name="atMs"/> (as <see cref="ListPathsAsync(string, string, int?, string?, int, CancellationToken)"/>).</summary>
    ValueTask<IReadOnlyList<string>> ListPathsAtAsync(string layer, string prefix, int? maxDepth, long atMs, string? after, int max,
        CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string layer, string path, string key, HistoryQuery query,
        CancellationToken cancellationToken = default);

    ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string layer, string path, HistoryQuery query,
        CancellationToken cancellationToken = default);

    /// <summary>One key's versions, newest first, one at a time (a reply streams them).</summary>
    IAsyncEnumerable<HistoryEntry> ReadHistoryAsync(string layer, string path, string key, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default);

    IAsyncEnumerable<HistoryEntry> ReadPathHistoryAsync(string layer, string path, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The changes of the bucket in <paramref name="layer"/> (null: every layer) under a prefix, replayed after
    /// <paramref name="after"/>, then live; the cursor is advanced past each change as it is handed out.
    /// </summary>
    IAsyncEnumerable<ChangeEvent> ReadChangesAsync(string? layer, string pathPrefix, FeedCursor after, CancellationToken cancellationToken = default);

    /// <summary>The feed cursor of this instant: a read after it gets the changes made from now on.</summary>
    ValueTask<FeedCursor> CurrentCursorAsync(CancellationToken cancellationToken = default);
}
