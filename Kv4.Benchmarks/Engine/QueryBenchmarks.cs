using BenchmarkDotNet.Attributes;
using Kv4.Benchmarks.Workload;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Engine;

/// <summary>
/// Kv4's reads that no peer here offers in one call: the history of a 100-version key (read back
/// through its version chain in the log), the keys at a path holding 1000 keys, and a replay of the
/// change feed (10k events) from sequence 0. Times are per call; with two threads each thread makes
/// half of the calls, so a drop in time per call shows how well they scale.
/// </summary>
[MemoryDiagnoser]
public class QueryBenchmarks
{
    private const int Calls = 64;
    private const int FeedReplays = 2;
    public const int HistoryVersions = 100;
    public const int ListedKeys = 1000;
    public const int FeedEvents = 10_000;

    private static readonly EntryAddress SeriesAddress = new(BenchData.Bucket, BenchData.Layer, "series", "sensor-1");
    private const string ListPath = "list/1000";
    private const string FeedPath = "feed";

    private Kv4Fixture? _kv4;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Interval, "query");
        for (var v = 0; v < HistoryVersions; v++)
            _kv4.Put(SeriesAddress, System.Text.Encoding.UTF8.GetBytes($$"""{"t":{{v}},"celsius":21.5,"ok":true}"""));
        for (var i = 0; i < ListedKeys; i++)
            _kv4.Put(new EntryAddress(BenchData.Bucket, BenchData.Layer, ListPath, BenchData.Keys[i]), BenchData.ValueMemory);
        for (var i = 0; i < FeedEvents; i++)
            _kv4.Put(new EntryAddress(BenchData.Bucket, BenchData.Layer, FeedPath, BenchData.Keys[i % BenchData.KeyCount]), BenchData.ValueMemory);
        _kv4.Store.FlushAsync().AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv4?.Dispose();
        _kv4 = null;
    }

    [Benchmark(Description = "Kv4 history of a 100-version key", OperationsPerInvoke = Calls)]
    public void History()
    {
        var store = _kv4!.Store;
        Workload.Threads.Run(Threads, Calls, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
            {
                var read = store.GetHistoryAsync(SeriesAddress, HistoryQuery.All);
                var history = read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
                if (history.Count != HistoryVersions) throw new InvalidOperationException($"history has {history.Count} versions");
            }
        });
    }

    [Benchmark(Description = "Kv4 list 1000 keys at a path", OperationsPerInvoke = Calls)]
    public void ListKeys()
    {
        var store = _kv4!.Store;
        Workload.Threads.Run(Threads, Calls, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
                if (store.ListKeys(BenchData.Bucket, BenchData.Layer, ListPath).Count != ListedKeys) throw new InvalidOperationException("short list");
        });
    }

    [Benchmark(Description = "Kv4 change-feed replay of 10k events", OperationsPerInvoke = FeedReplays)]
    public void ChangeFeedReplay()
    {
        var store = _kv4!.Store;
        Workload.Threads.Run(Threads, FeedReplays, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) ReplayFeed(store).GetAwaiter().GetResult();
        });
    }

    private static async Task ReplayFeed(Kv4Store store)
    {
        var seen = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await foreach (var change in store.ReadChangesAsync(new ChangeFilter(BenchData.Bucket, BenchData.Layer, FeedPath), FeedCursor.Beginning(), stop.Token))
        {
            _ = change;
            if (++seen == FeedEvents) return;
        }
        throw new InvalidOperationException($"feed ended after {seen} events");
    }
}
