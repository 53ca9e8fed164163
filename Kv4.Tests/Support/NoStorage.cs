using Kv4.Engine.Model;
using Kv4.Services.Storage;

namespace Kv4.Tests.Support;

/// <summary>The store handed to a service that must not touch one (`_turn`, `_host`, `_svc`): any call fails the test.</summary>
public sealed class NoStorage(string bucket) : IBucketView
{
    public static IBucketView For(string bucket) => new NoStorage(bucket);

    public string Bucket => bucket;

    public ValueTask<long> IncarnationAsync(CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<StoredValue?> GetLatestAsync(string layer, string path, string key, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<KeyedValue?> GetBySecondaryKeyAsync(string layer, string path, SecondaryKeySlot slot, string secondaryKey,
        CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<SecondaryKeys?> GetSecondaryKeysAsync(string layer, string path, string key, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<string>> ListKeysAsync(string layer, string path, string? after, int max, CancellationToken cancellationToken = default) =>
        throw Touched();

    public ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth = null, CancellationToken cancellationToken = default) =>
        throw Touched();

    public ValueTask<IReadOnlyList<string>> ListPathsAsync(string layer, string prefix, int? maxDepth, string? after, int max,
        CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<LayerCount>> ListLayersAsync(CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<StoredValue?> GetAtAsync(string layer, string path, string key, long atMs, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<string>> ListKeysAtAsync(string layer, string path, long atMs, string? after, int max,
        CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<string>> ListPathsAtAsync(string layer, string prefix, int? maxDepth, long atMs, string? after, int max,
        CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string layer, string path, string key, HistoryQuery query, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string layer, string path, HistoryQuery query, CancellationToken cancellationToken = default) => throw Touched();

    public IAsyncEnumerable<HistoryEntry> ReadHistoryAsync(string layer, string path, string key, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default) => throw Touched();

    public IAsyncEnumerable<HistoryEntry> ReadPathHistoryAsync(string layer, string path, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default) => throw Touched();

    public IAsyncEnumerable<ChangeEvent> ReadChangesAsync(string? layer, string pathPrefix, FeedCursor after, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<FeedCursor> CurrentCursorAsync(CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<WriteResult> PutAsync(string layer, string path, string key, ReadOnlyMemory<byte> json, string actor,
        WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<WriteResult> DeleteAsync(string layer, string path, string key, string actor,
        WriteCondition condition = default, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<long> DeleteTreeAsync(string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default) => throw Touched();

    private static InvalidOperationException Touched() => new("this service was not expected to touch storage");
}
