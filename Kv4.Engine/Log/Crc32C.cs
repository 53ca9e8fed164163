using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Kv4.Engine.Log;

/// <summary>
/// CRC-32C (Castagnoli). Our own check on every log record and checkpoint, so a damaged
/// byte is caught even where FasterLog's per-entry checksum would not look (checkpoint files) or if it
/// were ever switched off. Kept by hand to avoid one more package for twenty lines.
/// </summary>
internal static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a CRC over more data; start with 0.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is the CPU's CRC-32C instruction where there is one (SSE4.2, ARMv8), 8 bytes per
        // step: the table loop below cost ~10% of a put. It computes the same reflected CRC as the table, so the
        // on-disk checksums are unchanged; the table stays as the reference the tests compare with.
        var c = ~crc;
        while (data.Length >= sizeof(ulong))
        {
            c = System.Numerics.BitOperations.Crc32C(c, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }
        foreach (var b in data)
            c = System.Numerics.BitOperations.Crc32C(c, b);
        return ~c;
    }

    /// <summary>The byte-at-a-time table form of the same CRC: the reference <see cref="Append"/> must agree with.</summary>
    internal static uint AppendByTable(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        // The SSE4.2 crc32 instruction computes exactly CRC-32C; checkpoints of a million keys are ~100 MB.
        if (Sse42.X64.IsSupported)
        {
            ulong wide = c;
            while (data.Length >= 8)
            {
                wide = Sse42.X64.Crc32(wide, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            c = (uint)wide;
        }
        foreach (var b in data)
            c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    private static uint[] BuildTable()
    {
        const uint polynomial = 0x82F63B78; // reversed Castagnoli polynomial
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
