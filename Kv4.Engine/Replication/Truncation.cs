using Kv4.Engine.Index;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Engine.Replication;

/// <summary>
/// What voiding a partition's records after a sequence does to the index: every entry of the partition made by a
/// voided record goes back to the newest version of its chain that survives, or leaves the index if none does.
/// The same plan serves a live truncation and its replay at open (where it runs at the marker, so entries the log
/// wrote after the marker, which a fuzzy checkpoint may hold, are left alone).
/// <code>
///   key k of p3: #4 @400 → #2 @200 → #1 @100          truncate after 2: k goes back to #2 @200
///   key j of p3: #3 @300 (its first version)           truncate after 2: j leaves the index
/// </code>
/// </summary>
internal static class Truncation
{
    internal readonly record struct Step(string Bucket, string Layer, string Path, string Key, IndexEntry Voided, IndexEntry? Restored);

    /// <param name="before">Only entries written below this log address (the marker's) are voided.</param>
    /// <param name="read">Reads the record a chain pointer leads to (through compaction's redirects); null where the retained history ends.</param>
    public static async ValueTask<List<Step>> PlanAsync(StoreIndex index, int partition, long after, long before, Func<long, ValueTask<LogRecord?>> read)
    {
        var steps = new List<Step>();
        foreach (var bucket in index.Buckets)
        foreach (var tree in bucket.Layers.Values)
        foreach (var node in tree.Nodes)
        {
            if (node.Entries is not { IsEmpty: false } entries) continue;
            foreach (var (key, entry) in entries)
            {
                var version = new VersionId(entry.Version);
                if (version.Partition != partition || version.PartitionSequence <= after || entry.LogAddress >= before) continue;
                IndexEntry? restored = null;
                if (after > 0)
                {
                    var address = (await read(entry.LogAddress).ConfigureAwait(false))?.PreviousAddress ?? 0;
                    while (address != 0)
                    {
                        if (await read(address).ConfigureAwait(false) is not { } record) break;
                        if (record.PartitionSequence <= after)
                        {
                            restored = IndexEntry.Create(record.Op == Operation.Put ? record.Value : null, record.Version, record.TimestampMs,
                                index.InternActor(record.Actor), address, record.Op == Operation.Put ? record.SecondaryKeys : default);
                            break;
                        }
                        address = record.PreviousAddress;
                    }
                }
                steps.Add(new Step(bucket.Bucket, tree.Layer, node.Path, key, entry, restored));
            }
        }
        return steps;
    }

    /// <summary>The partition's lane held (or recovery): carries the plan out, skipping entries that changed since.</summary>
    public static void Apply(StoreIndex index, List<Step> steps, bool maintainDerived)
    {
        foreach (var step in steps)
        {
            if (!ReferenceEquals(index.Find(step.Bucket, step.Layer, step.Path, step.Key), step.Voided)) continue;
            if (step.Restored is null) index.Remove(step.Bucket, step.Layer, step.Path, step.Key, maintainDerived);
            else index.Set(step.Bucket, step.Layer, step.Path, step.Key, step.Restored, maintainDerived);
        }
    }
}
