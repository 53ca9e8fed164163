using System.Collections.Concurrent;

namespace Kv4.Engine.Index;

/// <summary>The layers of one bucket (one account's data) and its live-entry count.</summary>
internal sealed class BucketIndex(string bucket)
{
    // The one shared mutable static of the engine (the naming rule is for per-thread ones): incarnations must differ
    // across every store this process opens, since a paging cursor is sealed with a process-wide key.
#pragma warning disable IDE1006
    private static long lastIncarnation;
#pragma warning restore IDE1006
    private long liveEntries;

    /// <summary>
    /// Unique to this object within the process: a bucket dropped and created again under its name is another
    /// incarnation (its predecessor's records are still in the log, and nothing may lead to them).
    /// </summary>
    public long Incarnation { get; } = Interlocked.Increment(ref lastIncarnation);

    public string Bucket { get; } = bucket;

    public ConcurrentDictionary<string, LayerTree> Layers { get; } = new(1, 8, StringComparer.Ordinal);

    public long LiveEntries => Volatile.Read(ref liveEntries);

    public void AddLive(int delta) => Interlocked.Add(ref liveEntries, delta);

    public void ResetLive() => liveEntries = 0;

    public LayerTree GetOrAddLayer(string layer)
    {
        if (Layers.TryGetValue(layer, out var tree)) return tree;
        return Layers.GetOrAdd(layer, static name => new LayerTree(name));
    }
}
