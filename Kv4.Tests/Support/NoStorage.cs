using Kv4.Engine.Model;
using Kv4.Services.Storage;

namespace Kv4.Tests.Support;

/// <summary>The store handed to a service that must not touch one (`_turn`, `_host`, `_svc`): any call fails the test.</summary>
public sealed class NoStorage(string bucket) : IBucketView
{
    public static IBucketView For(string bucket) => new NoStorage(bucket);

    public string Bucket => bucket;

    public long Incarnation => throw Touched();

    public bool TryGetLatest(string layer, string path, string key, out StoredValue value) => throw Touched();

    public bool TryGetBySecondaryKey(string layer, string path, SecondaryKeySlot slot, string secondaryKey, out string key, out StoredValue value) => throw Touched();

    public bool TryGetSecondaryKeys(string layer, string path, string key, out SecondaryKeys secondaryKeys) => throw Touched();

    public IReadOnlyList<string> ListKeys(string layer, string path) => throw Touched();

    public IReadOnlyList<string> ListKeys(string layer, string path, string? after, int max) => throw Touched();

    public IReadOnlyList<string> ListPaths(string layer, string prefix, int? maxDepth = null) => throw Touched();

    public IReadOnlyList<string> ListPaths(string layer, string prefix, int? maxDepth, string? after, int max) => throw Touched();

    public IReadOnlyList<LayerCount> ListLayers() => throw Touched();

    public ValueTask<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string layer, string path, string key, HistoryQuery query, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<IReadOnlyList<HistoryEntry>> GetPathHistoryAsync(string layer, string path, HistoryQuery query, CancellationToken cancellationToken = default) => throw Touched();

    public IAsyncEnumerable<HistoryEntry> ReadHistoryAsync(string layer, string path, string key, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default) => throw Touched();

    public IAsyncEnumerable<HistoryEntry> ReadPathHistoryAsync(string layer, string path, HistoryQuery query, HistoryPosition? after = null,
        CancellationToken cancellationToken = default) => throw Touched();

    public IAsyncEnumerable<ChangeEvent> ReadChangesAsync(string? layer, string pathPrefix, FeedCursor after, CancellationToken cancellationToken = default) => throw Touched();

    public FeedCursor CurrentCursor() => throw Touched();

    public ValueTask<WriteResult> PutAsync(string layer, string path, string key, ReadOnlyMemory<byte> json, string actor,
        WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<WriteResult> DeleteAsync(string layer, string path, string key, string actor,
        WriteCondition condition = default, CancellationToken cancellationToken = default) => throw Touched();

    public ValueTask<long> DeleteTreeAsync(string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default) => throw Touched();

    private static InvalidOperationException Touched() => new("this service was not expected to touch storage");
}
