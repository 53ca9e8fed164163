using System.Buffers.Binary;
using Kv4.Engine.Log;

namespace Kv4.Engine.Recovery;

/// <summary>
/// The log ranges found damaged at a recovery, kept apart from the checkpoints in <c>log/kv4.damage</c> so that a
/// replay from an older checkpoint, or from the whole log once every checkpoint is gone, still jumps over them
/// instead of stopping there and leaving out every write made since. One 20-byte entry per range, appended and
/// fsynced before the store takes a write after the damage:
/// <code>
///   [ start : 8 bytes LE ][ end : 8 bytes LE ][ CRC-32C of the 16 bytes : 4 bytes LE ]  ...
/// </code>
/// After a recovery that dropped [4096, 9000) and a later one that dropped [20480, 24000) the file holds those two
/// entries in that order. A torn or damaged last entry (a crash while appending) is ignored; that range is then
/// found damaged again at the next open and appended again.
/// </summary>
internal static class DamageLedger
{
    private const int EntryBytes = 20;

    /// <summary>Beside the log segments, so that whoever removes the log removes its ledger with it.</summary>
    public static string PathOf(string dataDirectory) => Path.Combine(dataDirectory, "log", "kv4.damage");

    public static List<AddressRange> Read(string dataDirectory)
    {
        var ranges = new List<AddressRange>();
        var path = PathOf(dataDirectory);
        if (!File.Exists(path)) return ranges;
        var bytes = File.ReadAllBytes(path);
        for (var at = 0; at + EntryBytes <= bytes.Length; at += EntryBytes)
        {
            var entry = bytes.AsSpan(at, EntryBytes);
            if (Crc32C.Compute(entry[..16]) != BinaryPrimitives.ReadUInt32LittleEndian(entry[16..])) break;
            ranges.Add(new AddressRange(BinaryPrimitives.ReadInt64LittleEndian(entry), BinaryPrimitives.ReadInt64LittleEndian(entry[8..])));
        }
        return ranges;
    }

    public static void Append(string dataDirectory, AddressRange range)
    {
        Span<byte> entry = stackalloc byte[EntryBytes];
        BinaryPrimitives.WriteInt64LittleEndian(entry, range.Start);
        BinaryPrimitives.WriteInt64LittleEndian(entry[8..], range.End);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], Crc32C.Compute(entry[..16]));
        using var file = new FileStream(PathOf(dataDirectory), FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
        // Past the last whole entry: a torn tail left by a crash is overwritten.
        file.Position = file.Length / EntryBytes * EntryBytes;
        file.Write(entry);
        file.Flush(flushToDisk: true);
    }
}
