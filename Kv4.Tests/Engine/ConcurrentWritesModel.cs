using System.Text;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;

namespace Kv4.Tests.Engine;

/// <summary>
/// The meaning of concurrent writes, as a client relies on it, checked against what the store shows once all
/// writers are done. It needs no interleaving of its own: it holds every writer's <see cref="WriteOutcome"/>s
/// and states what must be true for any interleaving the store chose.
/// <list type="bullet">
/// <item>Per key, the history is one chain holding exactly the acknowledged writes of that key, each once; a write
/// acknowledged before another was issued comes first; a compare-and-set follows the version it named, a
/// put-if-absent follows nothing or a delete, an applied delete follows a put; the latest value is the chain's end.</item>
/// <item>A refused compare-and-set named a version that did not stay the key's last; a refusal carries only the
/// errors its condition allows.</item>
/// <item>Per partition, the change feed's partition sequences run 1, 2, 3, ... with no gap; every acknowledged
/// write is in the feed exactly once, on its key's partition, with the sequence (and version) its write returned; a
/// key's events come in its chain's order. A partition is one sequence of operations: a write acknowledged before
/// another of the same partition was issued has the smaller partition sequence, whichever keys they wrote.</item>
/// </list>
/// Example: writer 0 puts k1 (v3, finished at tick 4) and writer 1 then compare-and-sets k1 naming v3 (started at
/// tick 5, got v7): k1's history must be [v3, v7] and the feed must hold v3 and v7 once each, v3 first.
/// </summary>
internal sealed class ConcurrentWritesModel(IReadOnlyList<WriteOutcome> outcomes)
{
    private readonly List<WriteOutcome> _appended = outcomes.Where(o => o.Appended).ToList();

    public int AppendedCount => _appended.Count;


    /// <summary>Checks one key. <paramref name="historyNewestFirst"/> is the store's whole history of it; <paramref name="latest"/> its latest value, if live.</summary>
    public void CheckKey(EntryAddress address, int partition, IReadOnlyList<HistoryEntry> historyNewestFirst, StoredValue? latest)
    {
        var chain = historyNewestFirst.Reverse().ToList();
        var mine = _appended.Where(o => o.Step.At == address).ToList();
        var byVersion = mine.ToDictionary(o => o.Result!.Value.Version);
        var what = $"{address.Path}?k={address.Key}";
        Assert.True(chain.Count == mine.Count,
            $"{what}: the history has {chain.Count} versions, {mine.Count} writes were acknowledged\n  history: {Show(chain)}\n  acknowledged: {string.Join("\n    ", mine)}");

        var position = new Dictionary<WriteOutcome, int>();
        for (var i = 0; i < chain.Count; i++)
        {
            var entry = chain[i];
            Assert.True(byVersion.TryGetValue(entry.Version, out var write),
                $"{what}: history version {entry.Version} was acknowledged to no writer (or twice in the history)\n  history: {Show(chain)}");
            Assert.True(position.TryAdd(write, i), $"{what}: version {entry.Version} is twice in the history");
            var expectedOp = write.Step.Kind is WriterScenario.StepKind.Delete or WriterScenario.StepKind.CompareAndSetDelete ? Operation.Delete : Operation.Put;
            Assert.True(entry.Op == expectedOp, $"{what}: version {entry.Version} is a {entry.Op}, the write was {write}");
            Assert.True(entry.Actor == ActorOf(write.Writer), $"{what}: version {entry.Version} by {entry.Actor}, written by {ActorOf(write.Writer)}");
            AssertSameJson(write.Value, entry.Value, $"{what}: value of version {entry.Version}");
            Assert.True(write.Result!.Value.Partition == partition, $"{what}: {write} reported partition {write.Result.Value.Partition}, the key is on {partition}");
        }

        foreach (var earlier in mine)
            foreach (var later in mine)
                if (earlier.Finished < later.Started)
                    Assert.True(position[earlier] < position[later],
                        $"{what}: {earlier} was acknowledged before {later} was issued, yet the history orders it after\n  history: {Show(chain)}");

        foreach (var write in mine)
        {
            var at = position[write];
            var before = at > 0 ? chain[at - 1] : null;
            switch (write.Step.Kind)
            {
                case WriterScenario.StepKind.CompareAndSetPut or WriterScenario.StepKind.CompareAndSetDelete:
                    Assert.True(before?.Version == write.Expected,
                        $"{what}: the compare-and-set {write} was acknowledged but follows {before?.Version.ToString() ?? "nothing"}\n  history: {Show(chain)}");
                    break;
                case WriterScenario.StepKind.PutIfAbsent:
                    Assert.True(before is null || before.Op == Operation.Delete,
                        $"{what}: the put-if-absent {write} was acknowledged but follows the live version {before?.Version}\n  history: {Show(chain)}");
                    break;
            }
            if (write.Step.Kind is WriterScenario.StepKind.Delete or WriterScenario.StepKind.CompareAndSetDelete)
                Assert.True(before?.Op == Operation.Put,
                    $"{what}: the delete {write} was applied but follows {(before is null ? "nothing" : $"a {before.Op}")}\n  history: {Show(chain)}");
        }

        foreach (var refused in outcomes.Where(o => o.Step.At == address && o.Refused is not null))
            CheckRefusal(refused, chain, what);

        var end = chain.Count > 0 ? chain[^1] : null;
        if (end is null || end.Op == Operation.Delete)
        {
            Assert.True(latest is null, $"{what}: the history ends {(end is null ? "empty" : "with a delete")}, yet the latest value is {latest?.Version}");
        }
        else
        {
            Assert.True(latest is { } live && live.Version == end.Version,
                $"{what}: the latest value is {latest?.Version.ToString() ?? "absent"}, the history ends with {end.Version}");
            AssertSameJson(byVersion[end.Version].Value, latest.GetValueOrDefault().Json, $"{what}: latest value");
        }
    }

    private static void CheckRefusal(WriteOutcome refused, List<HistoryEntry> chain, string what)
    {
        var error = refused.Refused!.Value;
        switch (refused.Step.Kind)
        {
            case WriterScenario.StepKind.CompareAndSetPut or WriterScenario.StepKind.CompareAndSetDelete:
                Assert.True(error is EngineError.VersionConflict or EngineError.NotFound, $"{what}: {refused} refused with {error}");
                // The version was read live before the call; had nothing followed it, the key was still at it.
                if (!refused.Expected.IsNone)
                    Assert.True(chain.Count > 0 && chain[^1].Version != refused.Expected && chain.Any(e => e.Version == refused.Expected),
                        $"{what}: {refused} was refused, yet the version it named is the key's last\n  history: {Show(chain)}");
                break;
            case WriterScenario.StepKind.PutIfAbsent:
                Assert.True(error == EngineError.Exists, $"{what}: {refused} refused with {error}");
                Assert.True(chain.Any(e => e.Op == Operation.Put), $"{what}: {refused} found the key existing, yet it was never put");
                break;
            default:
                Assert.Fail($"{what}: {refused}: an unconditional write was refused");
                break;
        }
    }

    /// <summary>Checks the change feed of the bucket replayed from the start, in feed order.</summary>
    public void CheckFeed(IReadOnlyList<ChangeEvent> feed, Func<EntryAddress, int> partitionOf)
    {
        // Versions are unique per partition (a key lives in one), not across partitions.
        var byVersion = _appended.ToDictionary(o => (o.Result!.Value.Partition, o.Result.Value.Version));
        var seen = new HashSet<(int, VersionId)>();
        var nextInPartition = new Dictionary<int, long>();
        foreach (var change in feed)
        {
            var address = new EntryAddress(change.Bucket, change.Layer, change.Path, change.Key);
            var label = $"feed event v{change.Version} ({change.Op} {change.Path}?k={change.Key}, p{change.Partition}#{change.PartitionSequence})";
            Assert.True(byVersion.TryGetValue((change.Partition, change.Version), out var write), $"{label}: no writer was acknowledged this version");
            Assert.True(seen.Add((change.Partition, change.Version)), $"{label}: delivered twice");
            Assert.True(change.Version.PartitionSequence == change.PartitionSequence, $"{label}: the version does not carry the partition sequence");
            Assert.True(write.Step.At == address, $"{label}: the write of this version was {write}");
            Assert.True(change.Partition == partitionOf(address), $"{label}: the key is on partition {partitionOf(address)}");
            Assert.True(change.Partition == write.Result!.Value.Partition && change.PartitionSequence == write.Result.Value.PartitionSequence,
                $"{label}: the write returned p{write.Result.Value.Partition}#{write.Result.Value.PartitionSequence}");
            var expected = nextInPartition.GetValueOrDefault(change.Partition, 1);
            Assert.True(change.PartitionSequence == expected, $"{label}: partition {change.Partition} expected #{expected} next (strictly increasing, no gap)");
            nextInPartition[change.Partition] = expected + 1;
            AssertSameJson(write.Value, change.Value, $"{label}: value");
        }
        var missing = _appended.Where(o => !seen.Contains((o.Result!.Value.Partition, o.Result.Value.Version))).ToList();
        Assert.True(missing.Count == 0, $"acknowledged writes missing from the feed:\n  {string.Join("\n  ", missing)}");

        foreach (var partition in _appended.GroupBy(o => o.Result!.Value.Partition))
            foreach (var earlier in partition)
                foreach (var later in partition)
                    if (earlier.Finished < later.Started)
                        Assert.True(earlier.Result!.Value.PartitionSequence < later.Result!.Value.PartitionSequence,
                            $"partition {partition.Key}: {earlier} was acknowledged before {later} was issued, yet has the later sequence");
    }

    /// <summary>A key's events in the feed must come in the order of its history chain.</summary>
    public static void CheckKeyOrderInFeed(EntryAddress address, IReadOnlyList<HistoryEntry> historyNewestFirst, IReadOnlyList<ChangeEvent> feed)
    {
        var chain = historyNewestFirst.Reverse().Select(e => e.Version).ToList();
        var inFeed = feed.Where(c => c.Bucket == address.Bucket && c.Layer == address.Layer && c.Path == address.Path && c.Key == address.Key)
            .Select(c => c.Version).ToList();
        Assert.True(chain.SequenceEqual(inFeed),
            $"{address.Path}?k={address.Key}: the feed orders its versions [{string.Join(", ", inFeed)}], the history [{string.Join(", ", chain)}]");
    }

    public static string ActorOf(int writer) => $"w{writer}";

    private static void AssertSameJson(byte[]? expected, ReadOnlyMemory<byte>? actual, string what)
    {
        if (expected is null)
        {
            Assert.True(actual is null, $"{what}: expected none, got {Text(actual)}");
            return;
        }
        Assert.True(actual is { } a && a.Span.SequenceEqual(expected), $"{what}: expected {Encoding.UTF8.GetString(expected)}, got {Text(actual)}");
    }

    private static string Text(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? Encoding.UTF8.GetString(b.Span) : "none";

    private static string Show(IEnumerable<HistoryEntry> chain) => "[" + string.Join(", ", chain.Select(e => $"{e.Op} v{e.Version} by {e.Actor}")) + "]";
}
