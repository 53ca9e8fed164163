using System.Collections.Concurrent;

namespace Kv4.Engine.Index;

/// <summary>The layers of one bucket (one account's data) and its live-entry count.</summary>
internal sealed class BucketIndex(string bucket)
{
    private long liveEntries;

    public string Bucket { get; } = bucket;

    public ConcurrentDictionary<string, LayerTree> Layers { get; } = new(1, 8, StringComparer.Ordinal);

    public long LiveEntries => Volatile.Read(ref liveEntries);

    public void AddLive(int delta) => Interlocked.Add(ref liveEntries, delta);

    public void ResetLive() => liveEntries = 0;

    public LayerTree GetOrAddLayer(string layer)
    {
        if (Layers.TryGetValue(layer, out var tree)) return tree;
        tree = new LayerTree(layer);
        Layers[layer] = tree;
        return tree;
    }
}
