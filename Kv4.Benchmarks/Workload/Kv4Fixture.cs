using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Workload;

/// <summary>A Kv4 store on a fresh temp directory, with the blocking helpers the benchmark loops use.</summary>
public sealed class Kv4Fixture : IDisposable
{
    private readonly TempDirectory _dir;

    public Kv4Fixture(DurabilityMode durability, string purpose, bool? durableReads = null)
    {
        _dir = new TempDirectory(purpose);
        Store = Kv4Store.Open(new StoreOptions { DataDirectory = _dir.Path, Durability = durability, DurableReads = durableReads });
    }

    public Kv4Store Store { get; }

    /// <summary>
    /// A put as a synchronous caller sees it: with interval durability the ValueTask is normally already
    /// complete; with sync durability this thread waits for the (group) commit.
    /// </summary>
    public WriteResult Put(in EntryAddress address, ReadOnlyMemory<byte> json, SecondaryKeys secondaryKeys = default)
    {
        var pending = Store.PutAsync(address, json, BenchData.Actor, WriteCondition.None, secondaryKeys);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Puts every benchmark key once, so reads hit.</summary>
    public void Seed()
    {
        for (var i = 0; i < BenchData.KeyCount; i++) Put(BenchData.Addresses[i], BenchData.ValueMemory);
        Store.FlushAsync().AsTask().GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        Store.Dispose();
        _dir.Dispose();
    }
}
