using System.Globalization;

namespace Kv4.Engine.Log;

/// <summary>
/// The segment size of the log: the files FasterLog cuts it into (`log/kv4.log.0`, `.1`, ...; address A lives in
/// file A &gt;&gt; bits) and the unit its head is truncated in. Every address on disk depends on it, so it is chosen once,
/// when the data directory is created, and written beside the log in `log/segment-size-mb`; a later open with another
/// size is refused instead of reading the files wrongly. A directory from before the setting has no such file: it
/// was written with FasterLog's default, 1024 MiB. Example: a store created with 16 MiB segments writes
/// `log/segment-size-mb` = "16"; after 40 MiB of records the log is kv4.log.0, .1 and .2; opening it with 1024 fails
/// with "created with 16 MiB segments".
/// </summary>
internal static class LogSegments
{
    public const int DefaultSizeMB = 1024;
    public const int MinSizeMB = 16;
    public const int MaxSizeMB = 1 << 16;
    private const string FileName = "segment-size-mb";

    /// <summary>log2 of the segment size in bytes, after checking it against the directory and the page size.</summary>
    public static int Bits(string logDirectory, int sizeMB, int pageBits)
    {
        if (sizeMB is < MinSizeMB or > MaxSizeMB || (sizeMB & (sizeMB - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(sizeMB), sizeMB,
                $"the log segment size must be a power of two from {MinSizeMB} to {MaxSizeMB} MiB");
        var bits = 20 + (int)Math.Log2(sizeMB);
        if (bits < pageBits)
            throw new ArgumentOutOfRangeException(nameof(sizeMB), sizeMB,
                $"the log segment size must hold at least one log page ({1 << (pageBits - 20)} MiB with this value size limit)");
        var file = Path.Combine(logDirectory, FileName);
        var recorded = Recorded(file, logDirectory);
        if (recorded is { } existing && existing != sizeMB)
            throw new InvalidOperationException(
                $"the log in {logDirectory} was created with {existing} MiB segments and cannot be opened with {sizeMB} MiB ones");
        if (!File.Exists(file)) File.WriteAllText(file, sizeMB.ToString(CultureInfo.InvariantCulture));
        return bits;
    }

    /// <summary>The size the directory's log was written with; null for a new log.</summary>
    private static int? Recorded(string file, string logDirectory)
    {
        if (File.Exists(file))
        {
            var text = File.ReadAllText(file).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                ? size
                : throw new InvalidDataException($"{file} does not hold a segment size: \"{text}\"");
        }
        return Directory.EnumerateFiles(logDirectory, "kv4.log.*").Any() ? DefaultSizeMB : null;
    }
}
