using System.Buffers.Binary;
using Kv4.Engine.Log;
using MessagePack;

namespace Kv4.Engine.Compaction;

/// <summary>
/// Where the log's retained history begins after compaction, and how to get past it. Immutable: a compaction publishes
/// a new one. <see cref="Address"/> is the head the log is (or is about to be) truncated to; no reader reads below it.
/// <see cref="Versions"/>[p] is the version of partition p's newest original record below it (0: none): a feed reader
/// whose cursor is before it has lost events and is told so. <see cref="Redirects"/> maps the address a record above
/// the head (or the index) still names below it to the carry of that version, one entry per key whose chain crosses
/// the head; an address below the head with no entry ends the chain there (the older versions were not retained).
/// Worked example, key k with MaxVersions=2 and the head H=1000:
/// <code>
///   before:  v1 @100   v2 @200 (prev @100)   v3 @1500 (prev @200)           index k → @1500
///   compact: v1 is not retained; v2 is: carry c2 @2000 (prev @100, CarriedFrom @200); Redirects {200 → 2000}
///   after:   v3 @1500 → prev @200 → redirect @2000 (v2) → prev @100 below H, no entry: the chain ends (truncated)
/// </code>
/// Kept in <c>log/kv4.horizon</c> (beside the segments, so whoever removes the log removes it), written and fsynced
/// before the log's head is truncated, so an open after any crash knows where the history begins:
/// <code>
///   [ MessagePack HorizonFile ][ CRC-32C of it : 4 bytes LE ]
/// </code>
/// </summary>
internal sealed class CompactionHorizon
{
    public static readonly CompactionHorizon None = new(0, [], new Dictionary<long, long>());

    public CompactionHorizon(long address, long[] versions, IReadOnlyDictionary<long, long> redirects, long reclaimedUntilMs = 0)
    {
        Address = address;
        Versions = versions;
        Redirects = redirects;
        ReclaimedUntilMs = reclaimedUntilMs;
    }

    public long Address { get; }
    public long[] Versions { get; }
    public IReadOnlyDictionary<long, long> Redirects { get; }

    /// <summary>
    /// No reclaimed version is stamped after this instant (unix ms; 0: none known). A key whose history now begins after
    /// an earlier instant may have had versions then that were reclaimed with everything else it had (a delete whose
    /// older versions were outside retention leaves nothing behind): a read as of that instant cannot say it was absent.
    /// </summary>
    public long ReclaimedUntilMs { get; }

    /// <summary>The version of partition <paramref name="partition"/>'s newest record below the head (0: none).</summary>
    public long VersionOf(int partition) => partition < Versions.Length ? Versions[partition] : 0;

    /// <summary>
    /// Where a chain's pointer <paramref name="address"/> leads: itself above the head, its carry below (with an
    /// entry), or 0 when the history before it was not retained. <paramref name="truncated"/> says which of the two
    /// ends it was: 0 given (the key's first version) or a pointer below the head with no entry.
    /// </summary>
    public long Resolve(long address, out bool truncated)
    {
        truncated = false;
        if (address == LogRecord.TruncatedPointer)
        {
            truncated = true;
            return 0;
        }
        if (address == 0 || address >= Address) return address;
        if (Redirects.TryGetValue(address, out var carry)) return carry;
        truncated = true;
        return 0;
    }

    public static string PathOf(string dataDirectory) => Path.Combine(dataDirectory, "log", "kv4.horizon");

    public static CompactionHorizon Read(string dataDirectory)
    {
        var path = PathOf(dataDirectory);
        if (!File.Exists(path)) return None;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 5 || Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
            throw new InvalidDataException($"{path} is damaged: the log's compaction horizon cannot be read");
        var file = MessagePackSerializer.Deserialize<HorizonFile>(bytes.AsMemory(0, bytes.Length - 4), LogRecord.SerializerOptions);
        if (file.RedirectFrom.Length != file.RedirectTo.Length) throw new InvalidDataException($"{path} is damaged");
        var redirects = new Dictionary<long, long>(file.RedirectFrom.Length);
        for (var i = 0; i < file.RedirectFrom.Length; i++) redirects[file.RedirectFrom[i]] = file.RedirectTo[i];
        return new CompactionHorizon(file.Address, file.Versions, redirects, file.ReclaimedUntilMs);
    }

    /// <summary>Written to a temporary file, fsynced and renamed over: a crash leaves the old horizon or the new.</summary>
    public void Write(string dataDirectory)
    {
        var file = new HorizonFile
        {
            Address = Address,
            Versions = Versions,
            RedirectFrom = [.. Redirects.Keys],
            RedirectTo = [.. Redirects.Values],
            ReclaimedUntilMs = ReclaimedUntilMs,
        };
        var payload = MessagePackSerializer.Serialize(file, LogRecord.SerializerOptions);
        var path = PathOf(dataDirectory);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(payload);
            Span<byte> crc = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32C.Compute(payload));
            stream.Write(crc);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}

[MessagePackObject]
internal sealed class HorizonFile
{
    [Key(0)] public long Address { get; set; }
    [Key(1)] public long[] Versions { get; set; } = [];
    [Key(2)] public long[] RedirectFrom { get; set; } = [];
    [Key(3)] public long[] RedirectTo { get; set; } = [];
    [Key(4)] public long ReclaimedUntilMs { get; set; }
}
