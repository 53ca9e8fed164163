using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Kv4.Benchmarks.Workload;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Engine;

/// <summary>
/// Reads of the latest value of 10k seeded keys: Kv4 from its in-memory index (returns the stored
/// bytes, no copy), FasterKV (copies the value into a caller buffer), a ConcurrentDictionary; and
/// Kv4's lookup by secondary key (k2). Times are per operation.
/// </summary>
[MemoryDiagnoser]
public class GetBenchmarks
{
    private const int Batch = BenchData.KeyCount;

    private Kv4Fixture? _kv4;
    private FasterPeer? _faster;
    private ConcurrentDictionary<EntryAddress, byte[]>? _dictionary;
    private string[] _secondaryKeys = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup(Targets = [nameof(Kv4GetLatest)])]
    public void SetupKv4()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Interval, "get");
        _kv4.Seed();
    }

    [GlobalSetup(Targets = [nameof(Kv4GetBySecondaryKey)])]
    public void SetupKv4Secondary()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Interval, "get-k2");
        _secondaryKeys = Enumerable.Range(0, BenchData.KeyCount).Select(BenchData.SecondaryKeyOf).ToArray();
        for (var i = 0; i < BenchData.KeyCount; i++)
            _kv4.Put(BenchData.Addresses[i], BenchData.ValueMemory, new SecondaryKeys(K2: _secondaryKeys[i]));
    }

    [GlobalSetup(Targets = [nameof(FasterKvRead), nameof(FasterKvReadBatched)])]
    public void SetupFaster()
    {
        _faster = new FasterPeer(sessions: 2);
        for (var i = 0; i < BenchData.KeyCount; i++) _faster.Upsert(0, BenchData.FasterKeys[i], BenchData.Value);
    }

    [GlobalSetup(Targets = [nameof(ConcurrentDictionaryGet)])]
    public void SetupDictionary()
    {
        _dictionary = new ConcurrentDictionary<EntryAddress, byte[]>(2, BenchData.KeyCount);
        foreach (var address in BenchData.Addresses) _dictionary[address] = BenchData.Value;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kv4?.Dispose();
        _faster?.Dispose();
        _kv4 = null;
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
                if (!store.TryGetLatest(BenchData.Addresses[i], out _)) throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "Kv4 get by k2", OperationsPerInvoke = Batch)]
    public void Kv4GetBySecondaryKey()
    {
        var store = _kv4!.Store;
        var secondary = _secondaryKeys;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
                if (!store.TryGetBySecondaryKey(BenchData.Bucket, BenchData.Layer, BenchData.Path, SecondaryKeySlot.K2, secondary[i], out _, out _))
                    throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "FasterKV read", OperationsPerInvoke = Batch, Baseline = true)]
    public void FasterKvRead()
    {
        var faster = _faster!;
        Workload.Threads.Run(Threads, Batch, (session, from, to) =>
        {
            Span<byte> buffer = stackalloc byte[256];
            for (var i = from; i < to; i++)
                if (faster.Read(session, BenchData.FasterKeys[i], buffer) < 0) throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "FasterKV read (batched, unsafe context)", OperationsPerInvoke = Batch)]
    public void FasterKvReadBatched()
    {
        var faster = _faster!;
        Workload.Threads.Run(Threads, Batch, (session, from, to) =>
        {
            Span<byte> buffer = stackalloc byte[256];
            if (faster.ReadBatch(session, BenchData.FasterKeys, from, to, buffer) != to - from) throw new InvalidOperationException("miss");
        });
    }

    [Benchmark(Description = "ConcurrentDictionary get", OperationsPerInvoke = Batch)]
    public void ConcurrentDictionaryGet()
    {
        var dictionary = _dictionary!;
        Workload.Threads.Run(Threads, Batch, (thread, from, to) =>
        {
            for (var i = from; i < to; i++)
                if (!dictionary.TryGetValue(BenchData.Addresses[i], out _)) throw new InvalidOperationException("miss");
        });
    }
}
