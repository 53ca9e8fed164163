using BenchmarkDotNet.Attributes;
using Kv4.Benchmarks.Workload;
using Kv4.Engine;

namespace Kv4.Benchmarks.Lanes;

/// <summary>
/// Durable writes from 64 concurrent writers, each on its own dedicated thread and its own path (64 paths on
/// 64 different partitions, see <see cref="LaneData.WriterPaths"/>), each waiting for its acknowledgement before
/// its next put: Kv4 with sync durability (writers share a group commit) against RocksDB with sync writes (the
/// baseline; its write group shares one WAL fsync). Same keys, same value. Time is per acknowledged write. Kv4 runs
/// twice: with durable reads (sync's default: reads and the feed wait for the commit) and without, which is what
/// durable reads cost the writers.
/// </summary>
[MemoryDiagnoser]
public class LaneSyncBenchmarks
{
    private const int PutsPerWriter = 4;
    private const int Batch = LaneData.SyncWriters * PutsPerWriter;

    private WriterThreads? _writers;
    private Kv4Fixture? _kv4;
    private RocksPeer? _rocks;
    private int _round;

    [GlobalSetup(Targets = [nameof(Kv4PutSync)])]
    public void SetupKv4()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Sync, "lane-sync");
        LaneData.Check(_kv4.Store);
        _writers = new WriterThreads(LaneData.SyncWriters);
    }

    [GlobalSetup(Targets = [nameof(Kv4PutSyncWithoutDurableReads)])]
    public void SetupKv4WithoutDurableReads()
    {
        _kv4 = new Kv4Fixture(DurabilityMode.Sync, "lane-sync-plain", durableReads: false);
        LaneData.Check(_kv4.Store);
        _writers = new WriterThreads(LaneData.SyncWriters);
    }

    [GlobalSetup(Targets = [nameof(RocksDbPutSync)])]
    public void SetupRocks()
    {
        _rocks = new RocksPeer(syncWrites: true);
        _writers = new WriterThreads(LaneData.SyncWriters);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writers?.Dispose();
        _kv4?.Dispose();
        _rocks?.Dispose();
        _writers = null;
        _kv4 = null;
        _rocks = null;
    }

    [Benchmark(Description = "Kv4 put (sync), 64 writers", OperationsPerInvoke = Batch)]
    public void Kv4PutSync()
    {
        var kv4 = _kv4!;
        var first = NextRound();
        _writers!.Run(writer =>
        {
            var keys = LaneData.WriterAddresses[writer];
            for (var j = 0; j < PutsPerWriter; j++) kv4.Put(keys[(first + j) % keys.Length], BenchData.ValueMemory);
        });
    }

    [Benchmark(Description = "Kv4 put (sync, durable reads off), 64 writers", OperationsPerInvoke = Batch)]
    public void Kv4PutSyncWithoutDurableReads() => Kv4PutSync();

    [Benchmark(Description = "RocksDB put (sync), 64 writers", OperationsPerInvoke = Batch, Baseline = true)]
    public void RocksDbPutSync()
    {
        var rocks = _rocks!;
        var first = NextRound();
        _writers!.Run(writer =>
        {
            var keys = LaneData.WriterPeerKeys[writer];
            for (var j = 0; j < PutsPerWriter; j++) rocks.Put(keys[(first + j) % keys.Length], BenchData.Value);
        });
    }

    // Each invocation moves on to the next keys, so the writes are spread over every writer's keys.
    private int NextRound()
    {
        var first = _round;
        _round = (first + PutsPerWriter) % LaneData.KeysPerWriter;
        return first;
    }
}
