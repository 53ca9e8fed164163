using FASTER.core;

namespace Kv4.Engine.Log;

/// <summary>
/// The append-only log on disk: a FasterLog with per-entry checksums whose entries are framed
/// <see cref="LogRecord"/>s. Appends are made by the single writer; reads and scans by anyone.
/// FasterLog serves reads only below its committed address, so <see cref="ReadAsync"/> asks the caller's
/// commit hook first when the address is not committed yet.
/// </summary>
internal sealed class RecordLog : IDisposable
{
    private readonly IDevice device;
    private readonly FasterLog log;
    private readonly int pageBits;
    // How far below the tail's page a record is surely still in memory (see TryReadInMemory).
    private readonly long inMemoryReach;

    private RecordLog(IDevice device, FasterLog log, int pageBits, int memoryBits, int segmentBits)
    {
        this.device = device;
        SegmentBits = segmentBits;
        this.log = log;
        this.pageBits = pageBits;
        // FasterLog keeps 2^(memoryBits - pageBits) pages in memory, the tail's included, and evicts the oldest
        // as the tail opens a new page; two pages of margin stay clear of an eviction in progress.
        inMemoryReach = Math.Max(0, (1L << (memoryBits - pageBits)) - 2) << pageBits;
    }

    public static RecordLog Open(string dataDirectory, int maxValueBytes, int memorySizeBits, int segmentSizeMB = LogSegments.DefaultSizeMB)
    {
        var logDirectory = Path.Combine(dataDirectory, "log");
        Directory.CreateDirectory(logDirectory);
        // A record must fit in one page: value plus generous room for path, key, bucket and secondary keys.
        var pageBits = Math.Max(22, (int)Math.Ceiling(Math.Log2(maxValueBytes + (1 << 17))) + 1);
        var memoryBits = Math.Max(memorySizeBits, pageBits + 2);
        var segmentBits = LogSegments.Bits(logDirectory, segmentSizeMB, pageBits);
        var device = Devices.CreateLogDevice(Path.Combine(logDirectory, "kv4.log"), preallocateFile: false);
        try
        {
            var log = new FasterLog(new FasterLogSettings
            {
                LogDevice = device,
                LogCommitDir = Path.Combine(dataDirectory, "log-commits"),
                PageSizeBits = pageBits,
                MemorySizeBits = memoryBits,
                SegmentSizeBits = segmentBits,
                LogChecksum = LogChecksumType.PerEntry,
                TryRecoverLatest = true,
            });
            return new RecordLog(device, log, pageBits, memoryBits, segmentBits);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    public long BeginAddress => log.BeginAddress;
    /// <summary>log2 of the segment size: the head is truncated at multiples of 2^SegmentBits.</summary>
    public int SegmentBits { get; }
    public long TailAddress => log.TailAddress;
    public long CommittedUntilAddress => log.CommittedUntilAddress;

    /// <summary>Appends one framed record; returns its address. Blocks briefly if the memory buffer is full.</summary>
    public long Append(ReadOnlySpan<byte> framed) => log.Enqueue(framed);

    /// <summary>Commits everything appended so far and waits until it is durable.</summary>
    public ValueTask CommitAsync(CancellationToken cancellationToken = default) => log.CommitAsync(cancellationToken);

    /// <summary>
    /// Drops the log below <paramref name="segmentBoundary"/> (a segment boundary, so a record start) and commits, which
    /// persists the new head and deletes the segment files below it.
    /// </summary>
    public async ValueTask TruncateUntilAsync(long segmentBoundary)
    {
        if ((segmentBoundary & ((1L << SegmentBits) - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(segmentBoundary), segmentBoundary, "not a segment boundary");
        log.TruncateUntil(segmentBoundary);
        await log.CommitAsync().ConfigureAwait(false);
        // FasterLog deletes the files in the background after the commit: deleted here too, so that the space is free on return.
        device.TruncateUntilSegment((int)(segmentBoundary >> SegmentBits));
    }

    /// <summary>Reads the record at a committed address; throws <see cref="InvalidDataException"/> if it is damaged.</summary>
    public async ValueTask<LogRecord> ReadAsync(long address, CancellationToken cancellationToken)
    {
        if (TryReadInMemory(address) is { } inMemory) return inMemory;
        var (bytes, length) = await log.ReadAsync(address, 0, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
            throw new InvalidDataException($"no log record at address {address}");
        return LogRecord.TryReadFramed(bytes.AsMemory(0, length))
            ?? throw new InvalidDataException($"damaged log record at address {address}");
    }

    /// <summary>
    /// The record at <paramref name="address"/> read from FasterLog's in-memory pages, or null when it may
    /// have left memory. Why: FasterLog.ReadAsync always reads from the device, even for a page still in
    /// memory, and on Linux its managed device turns each read into a pool task, a device-wide lock and a
    /// pread: a history of 100 versions was 100 of those, serialized across requests by that lock.
    /// A scan iterator reads a page that is in memory directly (under FASTER's epoch protection); it is used
    /// only for addresses well inside the in-memory window, so it never has to load a page from disk, and if
    /// the window moved meanwhile the iterator still returns the right bytes, just slower. A damaged entry
    /// also goes to the device read, so damage is reported in one place.
    /// </summary>
    private LogRecord? TryReadInMemory(long address)
    {
        var tailPageStart = log.TailAddress >> pageBits << pageBits;
        if (address < tailPageStart - inMemoryReach || address >= log.CommittedUntilAddress) return null;
        using var iterator = log.Scan(address, address + 1, scanBufferingMode: ScanBufferingMode.SinglePageBuffering);
        try
        {
            if (!iterator.GetNext(out var bytes, out var length, out var current) || current != address) return null;
            return LogRecord.TryReadFramed(bytes.AsMemory(0, length));
        }
        catch (FasterException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads committed records in [<paramref name="from"/>, <paramref name="until"/>), jumping over the
    /// <paramref name="skipRanges"/> (regions found damaged at an earlier recovery). The first damaged record
    /// ends the scan with one item whose <see cref="ScannedRecord.Record"/> is null.
    /// </summary>
    public IEnumerable<ScannedRecord> Scan(long from, long until, IReadOnlyList<AddressRange> skipRanges)
    {
        var position = Math.Max(from, log.BeginAddress);
        foreach (var range in skipRanges)
        {
            if (range.End <= position) continue;
            if (range.Start >= until) break;
            if (range.Start > position)
            {
                foreach (var item in ScanContiguous(position, range.Start))
                {
                    yield return item;
                    if (item.Record is null) yield break;
                }
            }
            position = Math.Max(position, range.End);
        }
        if (position < until)
        {
            foreach (var item in ScanContiguous(position, until))
            {
                yield return item;
                if (item.Record is null) yield break;
            }
        }
    }

    private IEnumerable<ScannedRecord> ScanContiguous(long from, long until)
    {
        using var iterator = log.Scan(from, until);
        var expectedAddress = from;
        while (true)
        {
            byte[] bytes;
            int length;
            long address, next;
            bool found;
            try
            {
                found = iterator.GetNext(out bytes, out length, out address, out next);
            }
            catch (FasterException)
            {
                // A checksum failure or an uninitialized page: the log is damaged from here on.
                found = false;
                bytes = [];
                length = 0;
                address = expectedAddress;
                next = -1;
            }
            if (next == -1)
            {
                yield return new ScannedRecord(address, address, null);
                yield break;
            }
            if (!found) yield break;
            var record = LogRecord.TryReadFramed(bytes.AsMemory(0, length));
            yield return new ScannedRecord(address, next, record, bytes.AsMemory(0, length));
            if (record is null) yield break;
            expectedAddress = next;
        }
    }

    public void Dispose()
    {
        log.Dispose();
        device.Dispose();
    }
}

/// <summary>One entry of a scan: its address, the next one's, the record (null: damaged) and its framed bytes as stored.</summary>
internal readonly record struct ScannedRecord(long Address, long NextAddress, LogRecord? Record, ReadOnlyMemory<byte> Framed = default);

/// <summary>A half-open range of log addresses [Start, End).</summary>
internal readonly record struct AddressRange(long Start, long End);
