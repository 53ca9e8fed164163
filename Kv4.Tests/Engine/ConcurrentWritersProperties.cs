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
/// Model-based test of concurrent writers: a random <see cref="WriterScenario"/> (2 to 4 writers, each on its own
/// thread, released together, writing keys on two paths of one partition and on two other partitions, often the same
/// keys as each other) runs against a fresh store; then <see cref="ConcurrentWritesModel"/> checks the result: per
/// key one history chain in acknowledgement order with every compare-and-set after the version it named, per
/// partition a gap-free feed sequence, every acknowledged write in the feed exactly once. The interleaving differs
/// from run to run; what is asserted holds for every interleaving, so a failure is a real fault, never bad luck.
/// A quarter of the runs use sync durability (writers share group commits); checkpoints are taken while writers write.
/// </summary>
[Trait("Category", "Property")]
public class ConcurrentWritersProperties
{
    [Property(MaxTest = 40)]
    public Property Concurrent_writers_agree_with_the_model() =>
        Prop.ForAll(WriterScenario.Scenarios(), scenario => RunAsync(scenario).GetAwaiter().GetResult());

    private static async Task RunAsync(WriterScenario scenario)
    {
        using var directory = new TempDirectory("concurrent-writers");
        var options = new StoreOptions
        {
            DataDirectory = directory.Path,
            Durability = scenario.Durability,
            PartitionCount = WriterScenario.PartitionCount,
            CheckpointEveryRecords = 16,
        };
        await using var store = Kv4Store.Open(options);
        var outcomes = RunWriters(store, scenario);
        var model = new ConcurrentWritesModel(outcomes);
        try
        {
            var histories = new Dictionary<EntryAddress, IReadOnlyList<HistoryEntry>>();
            foreach (var path in WriterScenario.Paths)
                foreach (var key in WriterScenario.Keys)
                {
                    var address = new EntryAddress(WriterScenario.Bucket, WriterScenario.Layer, path, key);
                    var history = await store.GetHistoryAsync(address, HistoryQuery.All);
                    histories[address] = history;
                    StoredValue? latest = store.TryGetLatest(address, out var value) ? value : null;
                    model.CheckKey(address, store.PartitionOf(address.Bucket, address.Layer, address.Path), history, latest);
                }

            Assert.Equal(model.AppendedCount, store.AppendedRecords);
            var feed = await FeedReader.ReadAsync(store, new ChangeFilter(WriterScenario.Bucket), model.AppendedCount);
            model.CheckFeed(feed, a => store.PartitionOf(a.Bucket, a.Layer, a.Path));
            foreach (var (address, history) in histories)
                ConcurrentWritesModel.CheckKeyOrderInFeed(address, history, feed);
        }
        catch (Exception ex)
        {
            throw new ScenarioFailure($"{scenario}\n{ex.Message}", ex);
        }
    }

    private sealed class ScenarioFailure(string message, Exception inner) : Exception(message, inner);

    /// <summary>Runs every writer on a dedicated thread, all released at once by a barrier; returns every step's outcome.</summary>
    private static List<WriteOutcome> RunWriters(Kv4Store store, WriterScenario scenario)
    {
        var ticks = 0L;
        var writers = scenario.Writers.Length;
        var results = new List<WriteOutcome>[writers];
        var failures = new Exception?[writers];
        using var start = new Barrier(writers);
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            var mine = results[w] = [];
            try
            {
                start.SignalAndWait();
                var steps = scenario.Writers[w];
                for (var i = 0; i < steps.Length; i++)
                    mine.Add(Apply(store, w, i, steps[i], ref ticks));
            }
            catch (Exception e)
            {
                failures[w] = e;
            }
        }) { IsBackground = true, Name = $"model-writer-{w}" }).ToList();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
            throw new InvalidOperationException($"a writer failed outside the engine's refusals\n{scenario}", failure);
        return results.SelectMany(r => r).ToList();
    }

    private static WriteOutcome Apply(Kv4Store store, int writer, int index, WriterScenario.Step step, ref long ticks)
    {
        var value = step.Kind is WriterScenario.StepKind.Delete or WriterScenario.StepKind.CompareAndSetDelete
            ? null
            : Encoding.UTF8.GetBytes($"{{\"w\":{writer},\"i\":{index}}}");
        var expected = VersionId.None;
        var condition = WriteCondition.None;
        if (step.Kind is WriterScenario.StepKind.CompareAndSetPut or WriterScenario.StepKind.CompareAndSetDelete)
        {
            expected = store.TryGetLatest(step.At, out var current) ? current.Version : VersionId.None;
            condition = WriteCondition.IfVersion(expected);
        }
        else if (step.Kind == WriterScenario.StepKind.PutIfAbsent)
        {
            condition = WriteCondition.IfAbsent;
        }

        var actor = ConcurrentWritesModel.ActorOf(writer);
        var started = Interlocked.Increment(ref ticks);
        WriteResult? result = null;
        EngineError? refused = null;
        try
        {
            var pending = value is null
                ? store.DeleteAsync(step.At, actor, condition)
                : store.PutAsync(step.At, value, actor, condition);
            result = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        }
        catch (EngineException e)
        {
            refused = e.Error;
        }
        var finished = Interlocked.Increment(ref ticks);
        return new WriteOutcome(writer, index, step, value, expected, started, finished, result, refused);
    }
}
