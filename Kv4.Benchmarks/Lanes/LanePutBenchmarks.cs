using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Kv4.Benchmarks.Workload;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Lanes;

/// <summary>
/// Puts of the 10k lane keys (two paths on two partitions, see <see cref="LaneData"/>) and the 108-byte value:
/// Kv4 put with interval durability; FasterLog enqueueing the very record bytes Kv4
/// appends (the baseline: what Kv4 costs above its own log); RocksDB put with its WAL on and no sync;
/// FasterKV upsert; a ConcurrentDictionary. With two threads each thread writes its own partition's half.
/// Times are per operation.
/// </summary>
[MemoryDiagnoser]
public class LanePutBenchmarks
{
    private const int Batch = BenchData.KeyCount;

    private Kv4Fixture? _kv4;
    private FasterLogPeer? _fasterLog;
    private RocksPeer? _rocks;
    private FasterPeer? _faster;
    private ConcurrentDictionary<EntryAddress, byte[]>? _dictionary;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup(Targets = [nameof(Kv4Put)])]
    public void SetupKv4()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Interval, "lane-put");
        LaneData.Check(_kv4.Store);
    }

    [GlobalSetup(Targets = [nameof(FasterLogEnqueue)])]
    public void SetupFasterLog() => _fasterLog = new FasterLogPeer();

    [GlobalSetup(Targets = [nameof(RocksDbPut)])]
    public void SetupRocks() => _rocks = new RocksPeer(syncWrites: false);

    [GlobalSetup(Targets = [nameof(FasterKvUpsert)])]
    public void SetupFaster() => _faster = new FasterPeer(sessions: 2);

    [GlobalSetup(Targets = [nameof(ConcurrentDictionarySet)])]
    public void SetupDictionary() => _dictionary = new ConcurrentDictionary<EntryAddress, byte[]>(2, BenchData.KeyCount);

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv4?.Dispose();
        _fasterLog?.Dispose();
        _rocks?.Dispose();
        _faster?.Dispose();
        _kv4 = null;
        _fasterLog = null;
        _rocks = null;
        _faster = null;
        _dictionary = null;
    }

    [Benchmark(Description = "Kv4 put (interval)", OperationsPerInvoke = Batch)]
    public void Kv4Put()
    {
        var kv4 = _kv4!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) kv4.Put(LaneData.Addresses[i], BenchData.ValueMemory);
        });
    }

    [Benchmark(Description = "FasterLog enqueue (commit every 4096)", OperationsPerInvoke = Batch, Baseline = true)]
    public void FasterLogEnqueue()
    {
        var log = _fasterLog!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
            {
                log.Enqueue(LaneData.Records[i]);
                if ((i - from + 1) % FasterLogPeer.CommitEvery == 0) log.Commit();
            }
        });
    }

    [Benchmark(Description = "RocksDB put (WAL, no sync)", OperationsPerInvoke = Batch)]
    public void RocksDbPut()
    {
        var rocks = _rocks!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) rocks.Put(LaneData.PeerKeys[i], BenchData.Value);
        });
    }

    [Benchmark(Description = "FasterKV upsert", OperationsPerInvoke = Batch)]
    public void FasterKvUpsert()
    {
        var faster = _faster!;
        Workload.Threads.Run(Threads, Batch, (session, from, to) =>
        {
            for (var i = from; i < to; i++) faster.Upsert(session, LaneData.PeerKeys[i], BenchData.Value);
        });
    }

    [Benchmark(Description = "ConcurrentDictionary set", OperationsPerInvoke = Batch)]
    public void ConcurrentDictionarySet()
    {
        var dictionary = _dictionary!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++) dictionary[LaneData.Addresses[i]] = BenchData.Value;
        });
    }
}
