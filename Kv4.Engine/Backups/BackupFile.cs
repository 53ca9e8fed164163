using Kv4.Engine.Log;

namespace Kv4.Engine.Backups;

/// <summary>
/// The backup file: a store's records in an order it can be rebuilt from, framed so that a cut or damaged copy is
/// refused rather than restored in part. All integers little endian.
/// <code>
///   header   "KV4BACKUP" | format: u8 = 1 | order: u8 (<see cref="BackupOrder"/>) | partitions: u32 | taken at: i64 unix ms
///            | cursor: u16 length + UTF-8 | first: u32 count + i64 per partition (the version each partition's
///            records follow: 0, or where compaction left its history)
///   record   tag 1: u8 | address: u64 (the record's in the log it came from; 0 in partition order) | length: u32
///            | a framed log record (its own CRC-32C, as in the log)                                    (repeated)
///   end      tag 0: u8 | records: u64 | CRC-32C of every byte before this field: u32
/// </code>
/// Example: a single node with 4 partitions, after PUT data/a (partition 2), PUT data/b (partition 0), DELETE data/a,
/// backed up while a fourth write goes on (log order):
/// <code>
///   "KV4BACKUP" 01 00 | 04 00 00 00 | taken 1764720000000 | cursor "AQQ..." ([0:1, -, 2:2, -], the instant of the cut)
///   | first 4 × 0
///   01 | @64  | len | {p2 #1 Put data/a prev 0}
///   01 | @160 | len | {p0 #1 Put data/b prev 0}
///   01 | @256 | len | {p2 #2 Delete data/a prev @64}   ← the restore points it at where it wrote @64's record
///   00 | 3 | crc                                      ← the fourth write came after the cut: not in this backup
/// </code>
/// After a compaction the carries come first, then the other records, both in log order (<see cref="BackupPointers"/>);
/// a pointer into the reclaimed history, and where a carry was carried from, is <see cref="TruncatedPointer"/>; the
/// restore writes the store's horizon from "first", so its history ends where the original's did.
/// A restore writes the records again with their own versions, times and actors, so a version, a history and a feed
/// cursor taken before the backup mean the same after it.
/// </summary>
public static class BackupFile
{
    public static ReadOnlySpan<byte> Magic => "KV4BACKUP"u8;

    public const byte Format = 1;

    /// <summary>The longest record a backup may hold: more than any log page, less than a garbage length read as one.</summary>
    public const int MaxRecordBytes = 64 << 20;

    /// <summary>The media type `GET /_backup` answers with and `kv4 backup` expects.</summary>
    public const string MediaType = "application/vnd.kv4.backup";

    /// <summary>A chain pointer into history compaction reclaimed: no record is at this address in any log.</summary>
    public const long TruncatedPointer = LogRecord.TruncatedPointer;

    internal const byte RecordTag = 1;
    internal const byte EndTag = 0;
    internal const int MaxCursorBytes = ushort.MaxValue;
}
