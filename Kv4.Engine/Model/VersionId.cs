using System.Globalization;

namespace Kv4.Engine.Model;

/// <summary>
/// The opaque `_ver_` of an entry: the epoch and the partition sequence of the write that made the version,
/// packed as <c>epoch &lt;&lt; 40 | partitionSequence</c>. A key lives in one partition, so the value is unique for
/// its key and grows with every write of it; it is also what the partition's replicas store for that write, so a
/// copy of the partition on another node, or its promotion after a failover (which raises the epoch), keeps it.
/// On a single node the epoch is 0 and `_ver_` is the partition sequence: "7" is the seventh write of the
/// partition. Example: partition 3 at epoch 2 writes its 9th record: Value = 2·2^40 + 9 = 2199023255561.
/// 40 bits of sequence (10^12 writes per partition and epoch) and 23 of epoch (a new one at every promotion and
/// every open after an unclean stop) keep it a positive long. Clients see a decimal string and must not parse it.
/// </summary>
public readonly record struct VersionId(long Value)
{
    public const int SequenceBits = 40;
    public const long MaxSequence = (1L << SequenceBits) - 1;
    public const int MaxEpoch = (1 << 23) - 1;

    public static readonly VersionId None = new(0);

    public static VersionId Of(int epoch, long partitionSequence) => new(((long)epoch << SequenceBits) | partitionSequence);

    public bool IsNone => Value == 0;

    public int Epoch => (int)(Value >> SequenceBits);

    public long PartitionSequence => Value & MaxSequence;

    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    public bool TryFormat(Span<byte> utf8, out int written) =>
        System.Buffers.Text.Utf8Formatter.TryFormat(Value, utf8, out written);

    public static bool TryParse(ReadOnlySpan<char> text, out VersionId version)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            version = new VersionId(value);
            return true;
        }
        version = None;
        return false;
    }
}
