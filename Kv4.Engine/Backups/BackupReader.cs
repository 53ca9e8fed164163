using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Kv4.Engine.Log;

namespace Kv4.Engine.Backups;

/// <summary>
/// Reads a <see cref="BackupFile"/>: the header at open, then the records one by one, each checked (its own CRC, the
/// running checksum, the count at the end). Anything that is not exactly a whole backup — cut short, a byte changed,
/// bytes after the end, another format — is a <see cref="BackupException"/> saying which.
/// </summary>
public sealed class BackupReader
{
    private readonly Stream input;
    private byte[] buffer = new byte[64 * 1024];
    private uint crc;

    private BackupReader(Stream input) => this.input = input;

    public BackupOrder Order { get; private set; }

    public int PartitionCount { get; private set; }

    /// <summary>Where each partition's records begin (empty: at the start).</summary>
    public long[] FirstVersions { get; private set; } = [];

    /// <summary>The feed cursor the backup was cut at.</summary>
    public string Cursor { get; private set; } = "";

    public long TakenAtMs { get; private set; }

    /// <summary>Records read so far (all of them once the enumeration ended).</summary>
    public long Records { get; private set; }

    public static async ValueTask<BackupReader> OpenAsync(Stream input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        var reader = new BackupReader(input is BufferedStream or MemoryStream ? input : new BufferedStream(input, 64 * 1024));
        var magic = await reader.ReadAsync(BackupFile.Magic.Length, "its header", cancellationToken).ConfigureAwait(false);
        if (!magic.Span.SequenceEqual(BackupFile.Magic)) throw new BackupException("not a Kv4 backup (the file does not start with KV4BACKUP)");
        var fixedPart = await reader.ReadAsync(2 + 4 + 8 + 2, "its header", cancellationToken).ConfigureAwait(false);
        var format = fixedPart.Span[0];
        if (format != BackupFile.Format)
            throw new BackupException($"a backup of format {format}; this Kv4 reads format {BackupFile.Format}");
        if (fixedPart.Span[1] is not ((byte)BackupOrder.Log or (byte)BackupOrder.Partitions)) throw new BackupException($"a backup of order {fixedPart.Span[1]}: damaged");
        reader.Order = (BackupOrder)fixedPart.Span[1];
        var partitions = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart.Span[2..]);
        if (partitions is < 1 or > Model.VersionId.MaxPartitions) throw new BackupException($"a backup of {partitions} partitions: damaged");
        reader.PartitionCount = (int)partitions;
        reader.TakenAtMs = BinaryPrimitives.ReadInt64LittleEndian(fixedPart.Span[6..]);
        var cursorLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart.Span[14..]);
        reader.Cursor = Encoding.UTF8.GetString((await reader.ReadAsync(cursorLength, "its header", cancellationToken).ConfigureAwait(false)).Span);
        var firstCount = BinaryPrimitives.ReadUInt32LittleEndian((await reader.ReadAsync(4, "its header", cancellationToken).ConfigureAwait(false)).Span);
        if (firstCount != 0 && firstCount != partitions) throw new BackupException($"a backup of {partitions} partitions with {firstCount} first versions: damaged");
        var firsts = (await reader.ReadAsync((int)firstCount * 8, "its header", cancellationToken).ConfigureAwait(false)).Span;
        reader.FirstVersions = new long[firstCount];
        for (var p = 0; p < firstCount; p++) reader.FirstVersions[p] = BinaryPrimitives.ReadInt64LittleEndian(firsts[(p * 8)..]);
        return reader;
    }

    /// <summary>The records in file order, each with the address it had; ends after the end has been checked.</summary>
    internal async IAsyncEnumerable<(long Address, LogRecord Record)> ReadRecordsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            var tag = (await ReadAsync(1, "its end", cancellationToken).ConfigureAwait(false)).Span[0];
            if (tag == BackupFile.EndTag)
            {
                var count = BinaryPrimitives.ReadUInt64LittleEndian((await ReadAsync(8, "its end", cancellationToken).ConfigureAwait(false)).Span);
                var expected = crc;
                var stored = BinaryPrimitives.ReadUInt32LittleEndian((await ReadAsync(4, "its end", cancellationToken).ConfigureAwait(false)).Span);
                if (count != (ulong)Records) throw new BackupException($"the backup says {count} records and holds {Records}: damaged");
                if (stored != expected) throw new BackupException("the backup's checksum does not match its content: damaged");
                if (await input.ReadAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
                    throw new BackupException("bytes follow the backup's end: damaged, or two files joined");
                yield break;
            }
            if (tag != BackupFile.RecordTag) throw new BackupException($"unexpected byte {tag} after record {Records}: damaged");
            var head = (await ReadAsync(12, "a record", cancellationToken).ConfigureAwait(false)).Span;
            var address = BinaryPrimitives.ReadInt64LittleEndian(head);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            if (address < 0 || (address == 0) != (Order == BackupOrder.Partitions))
                throw new BackupException($"record {Records + 1} has address {address} in a backup in {Order} order: damaged");
            if (length is 0 or > BackupFile.MaxRecordBytes) throw new BackupException($"record {Records + 1} claims {length} bytes: damaged");
            var framed = await ReadAsync((int)length, "a record", cancellationToken).ConfigureAwait(false);
            var record = LogRecord.TryReadFramed(framed) ?? throw new BackupException($"record {Records + 1} is damaged (its checksum does not match)");
            Records++;
            yield return (address, record);
        }
    }

    /// <summary>The next <paramref name="count"/> bytes, added to the checksum; valid until the next read.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> ReadAsync(int count, string what, CancellationToken cancellationToken)
    {
        if (buffer.Length < count) buffer = new byte[Math.Max(count, buffer.Length * 2)];
        try
        {
            await input.ReadExactlyAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new BackupException($"the backup ends in the middle of {what} after {Records} records: cut short");
        }
        crc = Crc32C.Append(crc, buffer.AsSpan(0, count));
        return buffer.AsMemory(0, count);
    }
}
