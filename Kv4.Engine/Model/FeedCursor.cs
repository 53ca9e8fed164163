using System.Buffers.Text;

namespace Kv4.Engine.Model;

/// <summary>
/// A change-feed reader's resume point: for every partition, the version of the last event of that partition the
/// reader has passed (0: none yet). A read after the cursor delivers exactly the events whose version is greater
/// than their partition's position, so it restarts with no gap and no duplicate whatever the interleaving of the
/// partitions was, and the versions are the partition's own (epoch, sequence), which a replica or a node the
/// partition moves to has too. The feed advances the cursor in place as it hands out events.
/// <code>
///   4 partitions, epoch 0; events so far (partition:sequence): 2:1, 0:1, 2:2, 3:1
///   cursor after them      [0:1, -, 2:2, 3:1]      text "AQQAAAEBAAIAAAE"
///   resume from it: p0 after its 1st record, p1 from its first, p2 after its 2nd, p3 after its 1st
/// </code>
/// Text form (what a client holds and sends back as `since`): unpadded base64url of
/// <c>[format 1][P][gap, epoch, sequence]*</c>, all unsigned LEB128 varints, listing only the partitions with a
/// position, each as the count of empty partitions skipped since the previous one and its version's epoch and
/// sequence (the partition is known from the place). "0" is the beginning.
/// </summary>
public sealed class FeedCursor
{
    private const byte Format = 1;
    /// <summary>The longest text a client may send back (64 partitions need at most ~1 KB).</summary>
    public const int MaxTextLength = 16 * 1024;

    private long[] positions;

    private FeedCursor(long[] positions) => this.positions = positions;

    /// <summary>Before every event: a read from here replays all that is retained.</summary>
    public static FeedCursor Beginning(int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        return new FeedCursor(new long[partitionCount]);
    }

    /// <summary>Before every event, for a store whose partition count the caller does not know: the store sizes it.</summary>
    public static FeedCursor Beginning() => new([]);

    /// <summary>How many partitions it names (0: a beginning not yet read by a store).</summary>
    public int PartitionCount => positions.Length;

    /// <summary>The store, before reading: a beginning cursor takes its partition count; false if it names another.</summary>
    internal bool TryBind(int partitionCount)
    {
        if (positions.Length == 0) positions = new long[partitionCount];
        return positions.Length == partitionCount;
    }

    /// <summary>The version of the last event of <paramref name="partition"/> passed (0: none).</summary>
    public long this[int partition] => positions[partition];

    internal void Set(int partition, long version) => positions[partition] = version;

    /// <summary>
    /// Moves the partition's position up to <paramref name="version"/> (a reader that merges several stores' feeds passes
    /// each event it hands out); false when the event is not after the cursor, i.e. already passed.
    /// </summary>
    public bool TryAdvance(int partition, long version)
    {
        if (positions.Length == 0 || version <= positions[partition]) return false;
        positions[partition] = version;
        return true;
    }

    /// <summary>
    /// This cursor, bound to <paramref name="partitionCount"/> partitions (a beginning takes the count, in place, so
    /// whoever holds it sees it advance); null when it names another count.
    /// </summary>
    public FeedCursor? For(int partitionCount) => TryBind(partitionCount) ? this : null;

    /// <summary>Whether an event of <paramref name="partition"/> with <paramref name="version"/> lies after the cursor.</summary>
    internal bool IsAfter(int partition, long version) => version > positions[partition];

    public FeedCursor Clone() => new((long[])positions.Clone());

    public bool IsBeginning => Array.TrueForAll(positions, static p => p == 0);

    /// <summary>What a client sends back to resume after the last event it was given.</summary>

    public override string ToString()
    {
        if (IsBeginning) return "0";
        var buffer = new byte[2 * 5 + positions.Length * (3 * 10)];
        var n = 0;
        buffer[n++] = Format;
        n += WriteVarint(buffer.AsSpan(n), (ulong)positions.Length);
        var previous = -1;
        for (var p = 0; p < positions.Length; p++)
        {
            if (positions[p] == 0) continue;
            var version = new VersionId(positions[p]);
            n += WriteVarint(buffer.AsSpan(n), (ulong)(p - previous - 1));
            n += WriteVarint(buffer.AsSpan(n), (ulong)version.Epoch);
            n += WriteVarint(buffer.AsSpan(n), (ulong)version.PartitionSequence);
            previous = p;
        }
        return Base64Url.EncodeToString(buffer.AsSpan(0, n));
    }

    /// <summary>Reads a cursor's text form; false (and null) for anything that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FeedCursor? cursor)
    {
        cursor = null;
        if (text.Length == 0 || text.Length > MaxTextLength) return false;
        if (text is "0")
        {
            cursor = Beginning();
            return true;
        }
        var bytes = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        int length;
        try
        {
            if (!Base64Url.TryDecodeFromChars(text, bytes, out length)) return false;
        }
        catch (FormatException)
        {
            return false;
        }
        var input = bytes.AsSpan(0, length);
        if (input.Length < 2 || input[0] != Format) return false;
        input = input[1..];
        if (!TryReadVarint(ref input, out var count) || count is 0 or > VersionId.MaxPartitions) return false;
        var positions = new long[count];
        var p = -1L;
        while (input.Length > 0)
        {
            if (!TryReadVarint(ref input, out var gap) || !TryReadVarint(ref input, out var epoch) || !TryReadVarint(ref input, out var sequence))
                return false;
            p += (long)gap + 1;
            if (gap >= count || p >= (long)count || epoch > VersionId.MaxEpoch || sequence is 0 or > VersionId.MaxSequence) return false;
            positions[p] = VersionId.Of((int)epoch, (int)p, (long)sequence).Value;
        }
        cursor = new FeedCursor(positions);
        return true;
    }

    private static int WriteVarint(Span<byte> output, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            output[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        output[n++] = (byte)value;
        return n;
    }

    private static bool TryReadVarint(ref Span<byte> input, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && input.Length > 0; shift += 7)
        {
            var b = input[0];
            input = input[1..];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return shift < 63 || b <= 1;
        }
        return false;
    }
}
