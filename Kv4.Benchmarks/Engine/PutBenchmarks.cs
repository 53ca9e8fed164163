using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Kv4.Benchmarks.Workload;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Engine;

/// <summary>
/// Writes of the same 10k keys and 108-byte JSON value: Kv4 put (appends a version to its FasterLog,
/// keeps the history) with interval and sync durability, FasterKV upsert (latest value only, log on
/// disk), and a ConcurrentDictionary (the in-memory limit). Times are per operation.
/// </summary>
[MemoryDiagnoser]
public class PutBenchmarks
{
    private const int Batch = BenchData.KeyCount;
    // Each sync put waits for a disk commit, so its batch is small enough to keep an invocation short.
    private const int SyncBatch = 256;

    private Kv4Fixture? _kv4;
    private FasterPeer? _faster;
    private ConcurrentDictionary<EntryAddress, byte[]>? _dictionary;
    private int _syncOffset;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup(Targets = [nameof(Kv4PutInterval)])]
    public void SetupInterval() => _kv4 = new Kv4Fixture(DurabilityMode.Interval, "put-interval");

    [GlobalSetup(Targets = [nameof(Kv4PutSync)])]
    public void SetupSync() => _kv4 = new Kv4Fixture(DurabilityMode.Sync, "put-sync");

    [GlobalSetup(Targets = [nameof(FasterKvUpsert)])]
    public void SetupFaster() => _faster = new FasterPeer(sessions: 2);

    [GlobalSetup(Targets = [nameof(ConcurrentDictionarySet)])]
    public void SetupDictionary() => _dictionary = new ConcurrentDictionary<EntryAddress, byte[]>(2, BenchData.KeyCount);

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv4?.Dispose();
        _faster?.Dispose();
        _kv4 = null;
        _faster = null;
        _dictionary = null;
    }

    [Benchmark(Description = "Kv4 put (interval)", OperationsPerInvoke = Batch)]
    public void Kv4PutInterval()
    {
        var kv4 = _kv4!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) kv4.Put(BenchData.Addresses[i], BenchData.ValueMemory);
        });
    }

    [Benchmark(Description = "Kv4 put (sync)", OperationsPerInvoke = SyncBatch)]
    public void Kv4PutSync()
    {
        var kv4 = _kv4!;
        var offset = _syncOffset;
        _syncOffset = (offset + SyncBatch) % (BenchData.KeyCount - SyncBatch);
        Workload.Threads.Run(Threads, SyncBatch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) kv4.Put(BenchData.Addresses[offset + i], BenchData.ValueMemory);
        });
    }

    [Benchmark(Description = "FasterKV upsert", OperationsPerInvoke = Batch, Baseline = true)]
    public void FasterKvUpsert()
    {
        var faster = _faster!;
        Workload.Threads.Run(Threads, Batch, (session, from, to) =>
        {
            for (var i = from; i < to; i++) faster.Upsert(session, BenchData.FasterKeys[i], BenchData.Value);
        });
    }

    [Benchmark(Description = "ConcurrentDictionary set", OperationsPerInvoke = Batch)]
    public void ConcurrentDictionarySet()
    {
        var dictionary = _dictionary!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) dictionary[BenchData.Addresses[i]] = BenchData.Value;
        });
    }
}
