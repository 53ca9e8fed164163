using RocksDbSharp;

namespace Kv4.Benchmarks.Workload;

/// <summary>
/// RocksDB (the NuGet RocksDB package: RocksDbSharp over its bundled native librocksdb) with default options
/// on a temp directory. The write-ahead log is on; <c>syncWrites</c> decides whether each put waits for an
/// fsync of it (RocksDB then groups concurrent writers into one WAL write, its own group commit). Thread-safe.
/// </summary>
public sealed class RocksPeer : IDisposable
{
    private readonly TempDirectory _dir = new("rocksdb");
    private readonly DbOptions _options;
    private readonly WriteOptions _writes;
    private readonly RocksDb _db;

    public RocksPeer(bool syncWrites)
    {
        _options = new DbOptions().SetCreateIfMissing(true);
        _writes = new WriteOptions().SetSync(syncWrites);
        _db = RocksDb.Open(_options, _dir.Path);
    }

    public void Put(byte[] key, byte[] value) => _db.Put(key, value, null, _writes);

    /// <summary>Copies the value into <paramref name="buffer"/> and returns its length, or -1 when the key is absent.</summary>
    public long Get(byte[] key, byte[] buffer) => _db.Get(key, buffer, 0, buffer.Length);

    public void Dispose()
    {
        _db.Dispose();
        _dir.Dispose();
    }
}
