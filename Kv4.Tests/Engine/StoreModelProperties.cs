using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Model-based test: random runs of put / compare-and-set / put-if-absent / delete / delete-subtree / drop-bucket /
/// checkpoint / reopen (also with the newest or every index checkpoint lost, so recovery must replay the
/// log from an older checkpoint or from the start) are applied both to a real store on disk and to
/// <see cref="StoreModel"/>. After every step
/// the step's own answer, the touched entry and LastSequence must agree; before and after every reopen
/// and at the end of the run everything observable is compared: latest values, secondary keys and
/// lookups by them, key listings, path listings at several depths, layer counts, bucket listings,
/// per-key histories (whole and time/limit bounded), per-path histories, and the change feed replayed
/// from sequence 0 (per bucket and filtered by layer and path prefix), which must be the model's list
/// of mutations in order, with no gap and no duplicate, across reopens; and a reader started at the
/// beginning of each store session must have received, live, exactly that session's changes.
/// A quarter of the runs use sync durability.
/// </summary>
[Trait("Category", "Property")]
public class StoreModelProperties
{
    private const int MaxSteps = 40;

    [Property(MaxTest = 100)]
    public Property The_store_behaves_like_the_model() =>
        Prop.ForAll(StoreOp.Runs(MaxSteps), run => RunAsync(run).GetAwaiter().GetResult());

    private static async Task RunAsync(StoreOp[] run)
    {
        using var directory = new TempDirectory("model");
        var clock = new SteppedClock();
        // Checkpoints every few records as well, so some are taken while a run is writing.
        // A quarter of the runs acknowledge only durable writes (the sync path with its group commit).
        var durability = run.Length % 4 == 0 ? DurabilityMode.Sync : DurabilityMode.Interval;
        var options = new StoreOptions { DataDirectory = directory.Path, Clock = clock, CheckpointEveryRecords = 7, Durability = durability };
        var model = new StoreModel();
        var store = Kv4Store.Open(options);
        // A reader of bucket b1 follows the feed live from the start of each session.
        LiveFeedRecorder? live = new(store, new ChangeFilter("b1"));
        var liveFrom = model.Changes.Count;
        try
        {
            for (var i = 0; i < run.Length; i++)
            {
                var op = run[i];
                try
                {
                    if (op is StoreOp.Reopen reopen)
                    {
                        await CompareEverythingAsync(store, model);
                        await CompareLiveFeedAsync(live, liveFrom, store, model);
                        await live.DisposeAsync();
                        live = null;
                        await store.DisposeAsync();
                        store = null;
                        LoseCheckpoints(directory.Path, reopen.Loss);
                        store = Kv4Store.Open(options);
                        live = new LiveFeedRecorder(store, new ChangeFilter("b1"));
                        liveFrom = model.Changes.Count;
                        await CompareEverythingAsync(store, model);
                    }
                    else if (op is StoreOp.Checkpoint)
                    {
                        await store.CheckpointAsync();
                        Assert.Equal(model.AppendedRecords, store.AppendedRecords);
                    }
                    else
                    {
                        await ApplyAsync(store, model, clock, op);
                    }
                }
                catch (Exception ex) when (ex is not StepFailure)
                {
                    throw new StepFailure($"step {i + 1} of {run.Length}: {op}\n{ex}");
                }
            }
            try
            {
                await CompareEverythingAsync(store!, model);
                await CompareLiveFeedAsync(live!, liveFrom, store!, model);
            }
            catch (Exception ex) when (ex is not StepFailure)
            {
                throw new StepFailure($"after the last step of {run.Length}:\n{ex}");
            }
        }
        finally
        {
            if (live is not null) await live.DisposeAsync();
            if (store is not null) await store.DisposeAsync();
        }
    }

    private sealed class StepFailure(string message) : Exception(message);

    /// <summary>Deletes index checkpoint files (the engine keeps them as checkpoints/index-&lt;sequence&gt;.ckpt).</summary>
    private static void LoseCheckpoints(string dataDirectory, StoreOp.CheckpointLoss loss)
    {
        if (loss == StoreOp.CheckpointLoss.None) return;
        var directory = Path.Combine(dataDirectory, "checkpoints");
        Assert.True(Directory.Exists(directory), $"no {directory} after a close; the test needs to know where checkpoints live");
        var files = Directory.GetFiles(directory, "index-*.ckpt").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        foreach (var file in loss == StoreOp.CheckpointLoss.Newest ? files[^1..] : files)
            File.Delete(file);
    }

    private static async Task ApplyAsync(Kv4Store store, StoreModel model, SteppedClock clock, StoreOp op)
    {
        switch (op)
        {
            case StoreOp.Put put:
                clock.Advance(put.AdvanceMs);
                await PutAsync(store, model, clock, put);
                AssertLatest(store, model, put.At);
                break;
            case StoreOp.Delete delete:
                clock.Advance(delete.AdvanceMs);
                await DeleteAsync(store, model, clock, delete);
                AssertLatest(store, model, delete.At);
                break;
            case StoreOp.DeleteTree tree:
                clock.Advance(tree.AdvanceMs);
                await DeleteTreeAsync(store, model, clock, tree);
                break;
            case StoreOp.DeleteBucket drop:
                clock.Advance(drop.AdvanceMs);
                await DeleteBucketAsync(store, model, clock, drop);
                break;
        }
        Assert.Equal(model.AppendedRecords, store.AppendedRecords);
    }

    private static async Task PutAsync(Kv4Store store, StoreModel model, SteppedClock clock, StoreOp.Put put)
    {
        var condition = put.Kind switch
        {
            StoreOp.PutKind.IfCurrentVersion => WriteCondition.IfVersion(model.CurrentVersion(put.At) is { IsNone: false } v ? v : model.StaleVersion(put.At)),
            StoreOp.PutKind.IfStaleVersion => WriteCondition.IfVersion(model.StaleVersion(put.At)),
            StoreOp.PutKind.IfAbsent => WriteCondition.IfAbsent,
            _ => WriteCondition.None,
        };
        var expectedErrors = model.PutErrors(put.At, condition, put.SecondaryKeys);
        var json = Encoding.UTF8.GetBytes(put.Json);
        if (expectedErrors.Count > 0)
        {
            var ex = await Assert.ThrowsAsync<EngineException>(async () => await store.PutAsync(put.At, json, put.Actor, condition, put.SecondaryKeys));
            Assert.True(expectedErrors.Contains(ex.Error), $"refused with {ex.Error}, expected one of {string.Join(", ", expectedErrors)}");
            return;
        }

        var result = await store.PutAsync(put.At, json, put.Actor, condition, put.SecondaryKeys);
        AssertFreshWrite(store, model, clock, put.At, result);
        model.ApplyPut(put.At, JsonValueRules.ValidateAndCompact(json, JsonValueRules.DefaultMaxValueBytes), result.Version,
            clock.NowMs, put.Actor, put.SecondaryKeys, result.Partition, result.PartitionSequence);
    }

    private static async Task DeleteAsync(Kv4Store store, StoreModel model, SteppedClock clock, StoreOp.Delete delete)
    {
        var condition = delete.Kind switch
        {
            StoreOp.DeleteKind.IfCurrentVersion => WriteCondition.IfVersion(model.CurrentVersion(delete.At) is { IsNone: false } v ? v : model.StaleVersion(delete.At)),
            StoreOp.DeleteKind.IfStaleVersion => WriteCondition.IfVersion(model.StaleVersion(delete.At)),
            _ => WriteCondition.None,
        };
        var expectedErrors = model.DeleteErrors(delete.At, condition);
        if (expectedErrors.Count > 0)
        {
            var ex = await Assert.ThrowsAsync<EngineException>(async () => await store.DeleteAsync(delete.At, delete.Actor, condition));
            Assert.True(expectedErrors.Contains(ex.Error), $"refused with {ex.Error}, expected one of {string.Join(", ", expectedErrors)}");
            return;
        }

        var wasLive = model.TryGetLive(delete.At, out _);
        var result = await store.DeleteAsync(delete.At, delete.Actor, condition);
        if (!wasLive)
        {
            // Deleting what is not there appends nothing.
            Assert.False(result.Applied, "a delete of an absent entry reported Applied");
            return;
        }
        AssertFreshWrite(store, model, clock, delete.At, result);
        model.ApplyDelete(delete.At, result.Version, clock.NowMs, delete.Actor, result.Partition, result.PartitionSequence);
    }

    private static void AssertFreshWrite(Kv4Store store, StoreModel model, SteppedClock clock, EntryAddress at, WriteResult result)
    {
        Assert.True(result.Applied);
        var last = model.LastVersionIn(result.Partition);
        Assert.True(result.Version.Value > last.Value, $"version {result.Version} is not after {last}, the last of partition {result.Partition}");
        Assert.Equal((result.Partition, result.PartitionSequence), (result.Version.Partition, result.Version.PartitionSequence));
        if (!last.IsNone) Assert.True(result.PartitionSequence > last.PartitionSequence, $"partition sequence {result.PartitionSequence} after {last.PartitionSequence}");
        Assert.Equal(clock.NowMs, result.TimestampMs);
        Assert.Equal(store.PartitionOf(at.Bucket, at.Layer, at.Path), result.Partition);
        Assert.Equal(model.AppendedRecords + 1, store.AppendedRecords);
    }

    private static async Task DeleteTreeAsync(Kv4Store store, StoreModel model, SteppedClock clock, StoreOp.DeleteTree tree)
    {
        var doomed = model.LiveUnder(tree.Bucket, tree.Layer, tree.Prefix);
        var before = model.AppendedRecords;
        var count = await store.DeleteTreeAsync(tree.Bucket, tree.Layer, tree.Prefix, tree.Actor);
        Assert.Equal(doomed.Count, count);

        // The tombstones are appended by path, then key (ordinal): learn each one's version from its history,
        // check each is fresh in its partition, and let the feed check their order.
        var tombstones = new List<(EntryAddress At, HistoryEntry Tombstone)>();
        var lastIn = new Dictionary<int, VersionId>();
        foreach (var at in doomed.OrderBy(a => a.Path, StringComparer.Ordinal).ThenBy(a => a.Key, StringComparer.Ordinal))
        {
            var partition = store.PartitionOf(at.Bucket, at.Layer, at.Path);
            var newest = (await store.GetHistoryAsync(at, HistoryQuery.All with { Limit = 1 })).Single();
            Assert.Equal(Operation.Delete, newest.Op);
            Assert.Null(newest.Value);
            Assert.Equal(tree.Actor, newest.Actor);
            Assert.Equal(clock.NowMs, newest.TimestampMs);
            var previous = lastIn.TryGetValue(partition, out var seen) ? seen : model.LastVersionIn(partition);
            Assert.True(newest.Version.Value > previous.Value, $"tombstone of {at} has version {newest.Version}, not after {previous}");
            lastIn[partition] = newest.Version;
            tombstones.Add((at, newest));
        }
        Assert.Equal(before + tombstones.Count, store.AppendedRecords);
        foreach (var (at, tombstone) in tombstones)
            model.ApplyDelete(at, tombstone.Version, tombstone.TimestampMs, tombstone.Actor, store.PartitionOf(at.Bucket, at.Layer, at.Path), partitionSequence: null);
    }

    private static async Task DeleteBucketAsync(Kv4Store store, StoreModel model, SteppedClock clock, StoreOp.DeleteBucket drop)
    {
        var live = model.Layers(drop.Bucket).Sum(l => l.Entries);
        var holdsAnything = model.HoldsAnything(drop.Bucket);
        var before = model.AppendedRecords;
        var count = await store.DeleteBucketAsync(drop.Bucket, drop.Actor);
        Assert.Equal(live, count);
        if (!holdsAnything)
        {
            // Nothing to drop: nothing appended.
            Assert.Equal(before, store.AppendedRecords);
            return;
        }
        // One DropBucket record; the feed comparison checks its place, op, actor and time.
        Assert.Equal(before + 1, store.AppendedRecords);
        var partition = store.PartitionOf(drop.Bucket, "", "");
        var (epoch, sequence) = store.PartitionPosition(partition);
        model.ApplyDropBucket(drop.Bucket, VersionId.Of(epoch, partition, sequence), clock.NowMs, drop.Actor, partition);
    }

    private static void AssertLatest(Kv4Store store, StoreModel model, EntryAddress at)
    {
        if (model.TryGetLive(at, out var entry))
        {
            Assert.True(store.TryGetLatest(at, out var value), $"{at} is live in the model but absent in the store");
            AssertStored(entry.Latest, value, at);
        }
        else
        {
            Assert.False(store.TryGetLatest(at, out var value), $"{at} is absent in the model but the store has {Show(value.Json)}");
        }
    }

    private static void AssertStored(StoreModel.ModelVersion expected, StoredValue actual, EntryAddress at)
    {
        Assert.True(expected.Value.AsSpan().SequenceEqual(actual.Json.Span), $"{at}: expected {Show(expected.Value)}, got {Show(actual.Json)}");
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.TimestampMs, actual.TimestampMs);
        Assert.Equal(expected.Actor, actual.Actor);
    }

    /// <summary>Compares everything observable over the <see cref="StoreOp"/> alphabet; also used by the corruption tests.</summary>
    internal static async Task CompareEverythingAsync(Kv4Store store, StoreModel model)
    {
        Assert.Equal(model.AppendedRecords, store.AppendedRecords);
        Assert.Equal(model.Buckets(""), store.ListBuckets());
        Assert.Equal(model.Buckets("b1#"), store.ListBuckets("b1#"));

        foreach (var bucket in StoreOp.Buckets)
        {
            Assert.Equal(model.Layers(bucket), store.ListLayers(bucket));
            foreach (var layer in StoreOp.Layers)
            {
                foreach (var prefix in StoreOp.Paths.Append("zz"))
                    foreach (var depth in new int?[] { null, 1, 2 })
                        Assert.True(model.Paths(bucket, layer, prefix, depth).SequenceEqual(store.ListPaths(bucket, layer, prefix, depth)),
                            $"ListPaths({bucket}, {layer}, \"{prefix}\", {depth?.ToString() ?? "all"}): expected [{string.Join(", ", model.Paths(bucket, layer, prefix, depth))}], got [{string.Join(", ", store.ListPaths(bucket, layer, prefix, depth))}]");

                foreach (var path in StoreOp.Paths)
                {
                    Assert.Equal(model.Keys(bucket, layer, path), store.ListKeys(bucket, layer, path));
                    await ComparePathHistoryAsync(store, model, bucket, layer, path);
                    CompareSecondaryLookups(store, model, bucket, layer, path);
                }
            }
        }

        foreach (var at in StoreOp.AllAddresses())
        {
            AssertLatest(store, model, at);
            if (model.TryGetLive(at, out var entry))
            {
                Assert.True(store.TryGetSecondaryKeys(at, out var keys), $"{at}: no secondary keys answer for a live entry");
                Assert.Equal(entry.SecondaryKeys, keys);
            }
            await CompareHistoryAsync(store, model, at);
        }

        await CompareFeedAsync(store, model);
    }

    private static void CompareSecondaryLookups(Kv4Store store, StoreModel model, string bucket, string layer, string path)
    {
        foreach (var slot in StoreModel.Slots)
            foreach (var value in new[] { "e1", "e2", "p1", "q1" })
            {
                var expected = model.BySecondaryKey(bucket, layer, path, slot, value);
                var found = store.TryGetBySecondaryKey(bucket, layer, path, slot, value, out var key, out var stored);
                var where = $"{bucket}/_{layer}/{path}?{slot}={value}";
                if (expected is null)
                {
                    Assert.False(found, $"{where}: the store found key {key}, the model has none");
                    continue;
                }
                Assert.True(found, $"{where}: the model has key {expected.Value.Key}, the store found none");
                Assert.Equal(expected.Value.Key, key);
                AssertStored(expected.Value.Value, stored, new EntryAddress(bucket, layer, path, key));
            }
    }

    private static async Task CompareHistoryAsync(Kv4Store store, StoreModel model, EntryAddress at)
    {
        var all = model.VersionsOf(at);
        AssertHistory(model.History(at, HistoryQuery.All), await store.GetHistoryAsync(at, HistoryQuery.All), $"history of {at}");
        if (all.Count >= 2)
        {
            // A time window that cuts off the oldest version, and a limit.
            var window = new HistoryQuery(all[1].TimestampMs, all[^1].TimestampMs, 2);
            AssertHistory(model.History(at, window), await store.GetHistoryAsync(at, window), $"history of {at} in {window}");
            var beforeNewest = new HistoryQuery(long.MinValue, all[^1].TimestampMs - 1, HistoryQuery.DefaultLimit);
            AssertHistory(model.History(at, beforeNewest), await store.GetHistoryAsync(at, beforeNewest), $"history of {at} in {beforeNewest}");
        }
    }

    private static void AssertHistory(List<StoreModel.ModelVersion> expected, IReadOnlyList<HistoryEntry> actual, string what)
    {
        Assert.True(expected.Count == actual.Count,
            $"{what}: expected {expected.Count} versions [{string.Join(", ", expected.Select(v => v.Version))}], got {actual.Count} [{string.Join(", ", actual.Select(v => v.Version))}]");
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            var label = $"{what}, #{i}";
            Assert.Equal(e.Version, a.Version);
            Assert.Equal(e.Op, a.Op);
            Assert.Equal(e.TimestampMs, a.TimestampMs);
            Assert.Equal(e.Actor, a.Actor);
            AssertValue(e.Value, a.Value, label);
        }
    }

    private static async Task ComparePathHistoryAsync(Kv4Store store, StoreModel model, string bucket, string layer, string path)
    {
        var expected = model.PathHistory(bucket, layer, path);
        var actual = await store.GetPathHistoryAsync(bucket, layer, path, HistoryQuery.All);
        var what = $"path history of {bucket}/_{layer}/{path}";
        Assert.True(expected.Count == actual.Count, $"{what}: expected {expected.Count} versions, got {actual.Count}");
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Key, actual[i].Key);
            Assert.Equal(expected[i].Version.Version, actual[i].Version);
            Assert.Equal(expected[i].Version.Op, actual[i].Op);
            Assert.Equal(expected[i].Version.TimestampMs, actual[i].TimestampMs);
            Assert.Equal(expected[i].Version.Actor, actual[i].Actor);
            AssertValue(expected[i].Version.Value, actual[i].Value, $"{what}, #{i}");
        }
    }

    private static async Task CompareFeedAsync(Kv4Store store, StoreModel model)
    {
        foreach (var bucket in StoreOp.Buckets)
        {
            var expected = model.Changes.Where(c => c.Address.Bucket == bucket).ToList();
            var events = await FeedReader.ReadAsync(store, new ChangeFilter(bucket), expected.Count);
            AssertChanges(store, expected, events, $"feed of {bucket} from the beginning");

            // A narrower reader starting mid-way, from the cursor after the middle change: layer "data", paths under "a" (not "ab").
            var middle = (model.Changes.Count + 1) / 2;
            var from = model.CursorAfter(middle, store.PartitionCount);
            // A DropBucket of the bucket always matches.
            var filtered = model.Changes.Skip(middle).Where(c => c.Address.Bucket == bucket
                                               && (c.Version.Op == Operation.DropBucket
                                                   || (c.Address.Layer == "data" && AddressRules.IsUnder(c.Address.Path, "a")))).ToList();
            var filteredEvents = await FeedReader.ReadAsync(store, new ChangeFilter(bucket, "data", "a"), from, filtered.Count);
            AssertChanges(store, filtered, filteredEvents, $"feed of {bucket}/_data/a after change #{middle}");
        }
    }

    /// <summary>What the session's live reader received must be exactly the model's changes of its bucket since the session began.</summary>
    private static async Task CompareLiveFeedAsync(LiveFeedRecorder live, int liveFrom, Kv4Store store, StoreModel model)
    {
        var expected = model.Changes.Skip(liveFrom).Where(c => c.Address.Bucket == live.Filter.Bucket).ToList();
        var events = await live.WaitForAsync(expected.Count);
        Assert.True(events.Count == expected.Count, $"the live feed of {live.Filter.Bucket} delivered {events.Count} events, the model has {expected.Count}");
        AssertChanges(store, expected, events, $"live feed of {live.Filter.Bucket} after {live.After}");
    }

    private static void AssertChanges(Kv4Store store, List<StoreModel.Change> expected, List<ChangeEvent> events, string what)
    {
        var lastPartitionSequence = new Dictionary<int, long>();
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = events[i];
            var label = $"{what}, event #{i} (p{a.Partition} v{a.Version}, expected p{e.Partition} v{e.Version.Version} {e.Version.Op} {e.Address})";
            Assert.True(e.Partition == a.Partition, label);
            Assert.True(e.Version.Version == a.Version, label);
            Assert.True(e.Address == new EntryAddress(a.Bucket, a.Layer, a.Path, a.Key), $"{label}: got {a.Bucket}/_{a.Layer}/{a.Path}?k={a.Key}");
            Assert.True(e.Version.Op == a.Op, $"{label}: op {a.Op}");
            Assert.True(e.Version.TimestampMs == a.TimestampMs, $"{label}: timestamp {a.TimestampMs}");
            Assert.True(e.Version.Actor == a.Actor, $"{label}: actor {a.Actor}");
            AssertValue(e.Version.Value, a.Value, label);
            Assert.True(store.PartitionOf(a.Bucket, a.Layer, a.Path) == a.Partition, $"{label}: partition {a.Partition}");
            if (e.PartitionSequence is { } ps) Assert.True(ps == a.PartitionSequence, $"{label}: partition sequence {a.PartitionSequence}, the write returned {ps}");
            if (lastPartitionSequence.TryGetValue(a.Partition, out var last))
                Assert.True(a.PartitionSequence > last, $"{label}: partition sequence {a.PartitionSequence} not after {last}");
            lastPartitionSequence[a.Partition] = a.PartitionSequence;
        }
    }

    private static void AssertValue(byte[]? expected, ReadOnlyMemory<byte>? actual, string what)
    {
        if (expected is null)
        {
            if (actual is { } unexpected) Assert.Fail($"{what}: expected no value, got {Show(unexpected)}");
            return;
        }
        Assert.True(actual is not null, $"{what}: expected {Show(expected)}, got no value");
        Assert.True(expected.AsSpan().SequenceEqual(actual.Value.Span), $"{what}: expected {Show(expected)}, got {Show(actual.Value)}");
    }

    private static string Show(ReadOnlyMemory<byte> json) => Encoding.UTF8.GetString(json.Span);
}
