using System.Buffers;
using System.Buffers.Binary;
using Kv4.Engine.Model;
using MessagePack;

namespace Kv4.Engine.Log;

/// <summary>
/// One mutation as it is stored in the log. This is the on-disk format: a MessagePack array whose
/// positions are the [Key(n)] numbers below, so fields may be added at the end but never renumbered.
/// Each FasterLog entry is framed as
/// <code>
///   [ CRC-32C of the payload : 4 bytes, little endian ][ payload : MessagePack array ]
/// </code>
/// and FasterLog adds its own length header and per-entry checksum around that.
/// <see cref="PreviousAddress"/> links the versions of one key into a chain read backwards by history
/// (0 = this is the first version the index knows for the key).
///
/// Formats. 2 (written now): the record's place is its partition's (<see cref="Epoch"/>, <see cref="PartitionSequence"/>)
/// and its version is <see cref="VersionId.Of"/> of them. 1 (before partition lanes; the array ends at position 14)
/// ordered the whole store by one sequence at position 2, which format 2 no longer writes. The rule: positions are
/// only added at the end, never renumbered or reused; a reader takes a missing position as its default, so a record
/// of an older format reads as <see cref="Format"/> 0; a record of a format newer than the reader knows is damage.
/// A log of format 1 is refused at open with a message that says so (see docs/architecture.md). 3 is a carry, written
/// only by compaction (see CarriedFrom): format 2 plus position 17, so a reader of format 2 takes it for damage
/// rather than for a new version.
/// </summary>
[MessagePackObject]
internal sealed class LogRecord
{
    [Key(0)] public int Partition { get; set; }
    [Key(1)] public long PartitionSequence { get; set; }
    /// <summary>Format 1's store-wide sequence; never written since (kept so that no position is reused).</summary>
    [Key(2)] public long LegacySequence { get; set; }
    [Key(3)] public long TimestampMs { get; set; }
    [Key(4)] public string Actor { get; set; } = "";
    [Key(5)] public Operation Op { get; set; }
    [Key(6)] public string Bucket { get; set; } = "";
    [Key(7)] public string Layer { get; set; } = "";
    [Key(8)] public string Path { get; set; } = "";
    [Key(9)] public string Key { get; set; } = "";
    /// <summary>Compact UTF-8 JSON; null for a delete or bucket drop.</summary>
    [Key(10)] public byte[]? Value { get; set; }
    [Key(11)] public string? K2 { get; set; }
    [Key(12)] public string? K3 { get; set; }
    [Key(13)] public string? K4 { get; set; }
    [Key(14)] public long PreviousAddress { get; set; }
    [Key(15)] public int Epoch { get; set; }
    [Key(16)] public int Format { get; set; }
    /// <summary>
    /// A carry (format 3): a copy compaction made of the record that was at this address, below the log's new head. It
    /// repeats that record's version, timestamp, actor and value; its <see cref="PreviousAddress"/> leads to the copies
    /// of the key's older retained versions. It is not a new version: no lane sequence, no feed event (see docs/operations.md).
    /// </summary>
    [Key(17)] public long CarriedFrom { get; set; }

    /// <summary>The format of every record a write appends.</summary>
    public const int CurrentFormat = 2;
    /// <summary>The format of a carry (a reader that knows only format 2 takes it for damage rather than for a new version).</summary>
    public const int CarryFormat = 3;
    /// <summary>
    /// A chain pointer (or a carry's <see cref="CarriedFrom"/>) that names no record: the key's older versions exist but
    /// are not retained here. Never a record's address (a log begins above it).
    /// </summary>
    public const long TruncatedPointer = 1;

    [IgnoreMember] internal bool IsCarry => CarriedFrom != 0;

    /// <summary>The version this record made (its `_ver_`).</summary>
    [IgnoreMember] internal long Version => VersionId.Of(Epoch, Partition, PartitionSequence).Value;

    internal const int FrameHeaderBytes = 4;

    internal static readonly MessagePackSerializerOptions SerializerOptions =
        MessagePack.Resolvers.StandardResolverAllowPrivate.Options.WithSecurity(MessagePackSecurity.UntrustedData);

    [IgnoreMember] internal SecondaryKeys SecondaryKeys => new(K2, K3, K4);

    /// <summary>Writes the framed record into <paramref name="buffer"/> (cleared first).</summary>
    internal void WriteFramed(ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        buffer.GetSpan(FrameHeaderBytes);
        buffer.Advance(FrameHeaderBytes);
        MessagePackSerializer.Serialize(buffer, this, SerializerOptions);
        // The header bytes were reserved above and are ours until the next reset: fill them in place.
        var framed = System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer.WrittenMemory).Span;
        BinaryPrimitives.WriteUInt32LittleEndian(framed, Crc32C.Compute(framed[FrameHeaderBytes..]));
    }

    /// <summary>Decodes a framed record; null when the frame is damaged (CRC mismatch or not a record).</summary>
    internal static LogRecord? TryReadFramed(ReadOnlyMemory<byte> framed)
    {
        if (framed.Length <= FrameHeaderBytes) return null;
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(framed.Span);
        var payload = framed[FrameHeaderBytes..];
        if (Crc32C.Compute(payload.Span) != expected) return null;
        try
        {
            var record = MessagePackSerializer.Deserialize<LogRecord>(payload, SerializerOptions, out var read);
            return read == payload.Length && record is not null && record.Format <= CarryFormat ? record : null;
        }
        catch (MessagePackSerializationException)
        {
            return null;
        }
    }
}
