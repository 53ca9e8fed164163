using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Kv4.Engine.Log;

namespace Kv4.Engine.Backups;

/// <summary>
/// Writes a <see cref="BackupFile"/> to a stream as records come: the header first, each framed record, then the end
/// with the count and the checksum. Bytes are gathered and sent on in pieces, so a backup of any size holds a bounded
/// buffer; nothing ends the file but <see cref="FinishAsync"/>, so a copy cut short is one a restore refuses.
/// </summary>
public sealed class BackupWriter
{
    private const int FlushEveryBytes = 256 * 1024;

    private readonly Stream output;
    private readonly ArrayBufferWriter<byte> pending = new(FlushEveryBytes + 4096);
    private readonly int partitionCount;
    private readonly string cursor;
    private readonly long takenAtMs;
    private uint crc;
    private long records;
    private long bytes;

    private BackupWriter(Stream output, int partitionCount, string cursor, long takenAtMs)
    {
        this.output = output;
        this.partitionCount = partitionCount;
        this.cursor = cursor;
        this.takenAtMs = takenAtMs;
    }

    /// <summary>
    /// Starts a backup of a store of <paramref name="partitionCount"/> partitions cut at <paramref name="cursor"/>;
    /// <paramref name="firstVersions"/> (empty: none) is where each partition's records begin (after compaction).
    /// </summary>
    public static BackupWriter Start(Stream output, BackupOrder order, int partitionCount, string cursor, long takenAtMs,
        ReadOnlySpan<long> firstVersions = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        if (!firstVersions.IsEmpty && firstVersions.Length != partitionCount)
            throw new ArgumentException("one first version a partition, or none", nameof(firstVersions));
        var cursorBytes = Encoding.UTF8.GetByteCount(cursor);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cursorBytes, BackupFile.MaxCursorBytes, nameof(cursor));
        var writer = new BackupWriter(output, partitionCount, cursor, takenAtMs);
        var header = writer.pending.GetSpan(BackupFile.Magic.Length + 2 + 4 + 8 + 2 + cursorBytes + 4 + 8 * firstVersions.Length);
        BackupFile.Magic.CopyTo(header);
        var at = BackupFile.Magic.Length;
        header[at++] = BackupFile.Format;
        header[at++] = (byte)order;
        BinaryPrimitives.WriteUInt32LittleEndian(header[at..], (uint)partitionCount);
        BinaryPrimitives.WriteInt64LittleEndian(header[(at += 4)..], takenAtMs);
        BinaryPrimitives.WriteUInt16LittleEndian(header[(at += 8)..], (ushort)cursorBytes);
        at += 2;
        at += Encoding.UTF8.GetBytes(cursor, header[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[at..], (uint)firstVersions.Length);
        at += 4;
        foreach (var version in firstVersions)
        {
            BinaryPrimitives.WriteInt64LittleEndian(header[at..], version);
            at += 8;
        }
        writer.Advance(at);
        return writer;
    }

    /// <summary>
    /// Adds one framed log record (as the log and the node bus carry it) with the address it had in its log (0 when the
    /// backup is in partition order); sends on what has gathered.
    /// </summary>
    public ValueTask WriteRecordAsync(long address, ReadOnlySpan<byte> framedRecord, CancellationToken cancellationToken)
    {
        if (framedRecord.Length is 0 or > BackupFile.MaxRecordBytes)
            throw new ArgumentOutOfRangeException(nameof(framedRecord), "not a framed record");
        var span = pending.GetSpan(13 + framedRecord.Length);
        span[0] = BackupFile.RecordTag;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], address);
        BinaryPrimitives.WriteUInt32LittleEndian(span[9..], (uint)framedRecord.Length);
        framedRecord.CopyTo(span[13..]);
        Advance(13 + framedRecord.Length);
        records++;
        return pending.WrittenCount >= FlushEveryBytes ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary>Writes the end (count and checksum) and sends everything on: only now is the file a backup.</summary>
    public async ValueTask<BackupSummary> FinishAsync(CancellationToken cancellationToken)
    {
        var span = pending.GetSpan(1 + 8);
        span[0] = BackupFile.EndTag;
        BinaryPrimitives.WriteUInt64LittleEndian(span[1..], (ulong)records);
        Advance(1 + 8);
        BinaryPrimitives.WriteUInt32LittleEndian(pending.GetSpan(4), crc);
        pending.Advance(4);
        bytes += 4;
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new BackupSummary(partitionCount, cursor, takenAtMs, records, bytes);
    }

    private void Advance(int count)
    {
        var start = pending.WrittenCount;
        pending.Advance(count);
        crc = Crc32C.Append(crc, pending.WrittenSpan[start..]);
        bytes += count;
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await output.WriteAsync(pending.WrittenMemory, cancellationToken).ConfigureAwait(false);
        pending.ResetWrittenCount();
    }
}
