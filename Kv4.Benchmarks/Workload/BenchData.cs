using System.Text;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Workload;

/// <summary>
/// The keys and values every engine benchmark and every peer uses, built once so that no
/// benchmark measures string formatting. Kv4 addresses them as (bucket, layer, path, key);
/// FasterKV gets the same address as one UTF-8 key ("bench\0data\0users/eu\0user000042");
/// the ConcurrentDictionary is keyed by the <see cref="EntryAddress"/> itself.
/// </summary>
public static class BenchData
{
    public const string Bucket = "bench";
    public const string Layer = "data";
    public const string Path = "users/eu";
    public const string Actor = "bench";

    /// <summary>Distinct keys the put/get benchmarks cycle over (10k: the index and FASTER's log fit in memory, as for a hot working set).</summary>
    public const int KeyCount = 10_000;

    public static readonly string[] Keys = Enumerable.Range(0, KeyCount).Select(i => $"user{i:D6}").ToArray();

    public static readonly EntryAddress[] Addresses = Keys.Select(k => new EntryAddress(Bucket, Layer, Path, k)).ToArray();

    /// <summary>The same addresses as FasterKV keys: bucket, layer, path and key joined by NUL.</summary>
    public static readonly byte[][] FasterKeys = Keys.Select(k => Encoding.UTF8.GetBytes($"{Bucket}\0{Layer}\0{Path}\0{k}")).ToArray();

    /// <summary>A typical small JSON object (108 bytes, compact, as the engine stores it).</summary>
    public static readonly byte[] Value = Encoding.UTF8.GetBytes(
        """{"name":"Elena Novak","email":"elena@example.com","plan":"pro","active":true,"score":12345,"tags":["a","b"]}""");

    public static readonly ReadOnlyMemory<byte> ValueMemory = Value;

    /// <summary>The secondary key (k2) of key i, e.g. an email.</summary>
    public static string SecondaryKeyOf(int i) => $"user{i:D6}@example.com";
}
