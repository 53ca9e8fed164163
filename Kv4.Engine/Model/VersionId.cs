using System.Globalization;

namespace Kv4.Engine.Model;

/// <summary>
/// The opaque `_ver_` of an entry: the epoch, the partition and the partition sequence of the write that made the
/// version, packed as <c>epoch &lt;&lt; 47 | partition &lt;&lt; 37 | sequence</c>. It is unique across the store (no
/// two writes of any keys share one, so a version read from one key is never a key to another's compare-and-set),
/// grows with every write of a key (a key lives in one partition, whose sequence only grows and whose epoch only
/// rises), and it is what the partition's replicas store for that write, so a copy of the partition on another
/// node, or its promotion after a failover (which raises the epoch), keeps it. Example: partition 3 at epoch 0
/// writes its 9th record: Value = 3·2^37 + 9 = 412316860425; at epoch 2 it would be 2·2^47 + 3·2^37 + 9.
/// 37 bits of sequence (1.3·10^11 writes per partition and epoch), 10 of partition (up to 1024) and 16 of epoch (a
/// new one at every promotion and at every open after an unclean stop) keep it a positive long. Clients see a
/// decimal string and must not read anything into it.
/// </summary>
public readonly record struct VersionId(long Value)
{
    public const int SequenceBits = 37;
    public const int PartitionBits = 10;
    public const long MaxSequence = (1L << SequenceBits) - 1;
    public const int MaxPartitions = 1 << PartitionBits;
    public const int MaxEpoch = (1 << 16) - 1;

    public static readonly VersionId None = new(0);

    public static VersionId Of(int epoch, int partition, long partitionSequence) =>
        new(((long)epoch << (SequenceBits + PartitionBits)) | ((long)partition << SequenceBits) | partitionSequence);

    public bool IsNone => Value == 0;

    public int Epoch => (int)(Value >> (SequenceBits + PartitionBits));

    public int Partition => (int)((Value >> SequenceBits) & (MaxPartitions - 1));

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
