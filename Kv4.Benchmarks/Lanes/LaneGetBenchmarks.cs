using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Kv4.Benchmarks.Workload;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Lanes;

/// <summary>
/// Reads of the latest value of the 10k seeded lane keys: Kv4 from its in-memory index (the stored bytes, no
/// copy); RocksDB get (the baseline; the value copied into a caller buffer, served from its memtable, which
/// holds all 10k keys: its fastest read); FasterKV read (copied too); a ConcurrentDictionary. Times are per operation.
/// </summary>
[MemoryDiagnoser]
public class LaneGetBenchmarks
{
    private const int Batch = BenchData.KeyCount;

    private Kv4Fixture? _kv4;
    private RocksPeer? _rocks;
    private FasterPeer? _faster;
    private ConcurrentDictionary<EntryAddress, byte[]>? _dictionary;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup(Targets = [nameof(Kv4GetLatest)])]
    public void SetupKv4()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Interval, "lane-get");
        LaneData.Check(_kv4.Store);
        foreach (var address in LaneData.Addresses) _kv4.Put(address, BenchData.ValueMemory);
        _kv4.Store.FlushAsync().AsTask().GetAwaiter().GetResult();
    }

    [GlobalSetup(Targets = [nameof(RocksDbGet)])]
    public void SetupRocks()
    {
        _rocks = new RocksPeer(syncWrites: false);
        foreach (var key in LaneData.PeerKeys) _rocks.Put(key, BenchData.Value);
    }

    [GlobalSetup(Targets = [nameof(FasterKvRead)])]
    public void SetupFaster()
    {
        _faster = new FasterPeer(sessions: 2);
        foreach (var key in LaneData.PeerKeys) _faster.Upsert(0, key, BenchData.Value);
    }

    [GlobalSetup(Targets = [nameof(ConcurrentDictionaryGet)])]
    public void SetupDictionary()
    {
        _dictionary = new ConcurrentDictionary<EntryAddress, byte[]>(2, BenchData.KeyCount);
        foreach (var address in LaneData.Addresses) _dictionary[address] = BenchData.Value;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv4?.Dispose();
        _rocks?.Dispose();
        _faster?.Dispose();
        _kv4 = null;
        _rocks = null;
        _faster = null;
        _dictionary = null;
    }

    [Benchmark(Description = "Kv4 get latest", OperationsPerInvoke = Batch)]
    public void Kv4GetLatest()
    {
        var store = _kv4!.Store;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
                if (!store.TryGetLatest(LaneData.Addresses[i], out _)) throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "RocksDB get", OperationsPerInvoke = Batch, Baseline = true)]
    public void RocksDbGet()
    {
        var rocks = _rocks!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            var buffer = new byte[256];
            for (var i = from; i < to; i++)
                if (rocks.Get(LaneData.PeerKeys[i], buffer) < 0) throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "FasterKV read", OperationsPerInvoke = Batch)]
    public void FasterKvRead()
    {
        var faster = _faster!;
        Workload.Threads.Run(Threads, Batch, (session, from, to) =>
        {
            Span<byte> buffer = stackalloc byte[256];
            for (var i = from; i < to; i++)
                if (faster.Read(session, LaneData.PeerKeys[i], buffer) < 0) throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "ConcurrentDictionary get", OperationsPerInvoke = Batch)]
    public void ConcurrentDictionaryGet()
    {
        var dictionary = _dictionary!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
                if (!dictionary.TryGetValue(LaneData.Addresses[i], out _)) throw new InvalidOperationException("miss");
        });
    }
}
