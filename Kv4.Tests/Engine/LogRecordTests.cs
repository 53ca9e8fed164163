using System.Buffers;
using System.Text;
using Kv4.Engine.Log;
using Kv4.Engine.Model;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class LogRecordTests
{
    [Theory]
    [InlineData("123456789", 0xE3069283u)] // the CRC-32C check value
    [InlineData("", 0u)]
    [InlineData("a", 0xC1D04330u)]
    public void Crc32C_matches_the_standard_check_values(string text, uint expected)
    {
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Crc32C_is_the_same_computed_in_pieces_of_any_length()
    {
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        var whole = Crc32C.Compute(data);
        for (var split = 0; split <= 17; split++)
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
    }

    [Fact]
    public void A_framed_record_round_trips_and_any_flipped_byte_is_detected()
    {
        var record = new LogRecord
        {
            Partition = 7, PartitionSequence = 3, Epoch = 42, Format = LogRecord.CurrentFormat, TimestampMs = 1_700_000_000_123, Actor = "elena",
            Op = Operation.Put, Bucket = "elena#lily", Layer = "data", Path = "a/b", Key = "k", Value = "{\"x\":1}"u8.ToArray(),
            K2 = "mail", PreviousAddress = 4096,
        };
        var buffer = new ArrayBufferWriter<byte>();
        record.WriteFramed(buffer);
        var framed = buffer.WrittenSpan.ToArray();

        var back = LogRecord.TryReadFramed(framed);
        Assert.NotNull(back);
        Assert.Equal((7, 3L, 42, 1_700_000_000_123L, "elena", Operation.Put, "elena#lily", "data", "a/b", "k", "mail", (string?)null, 4096L),
            (back.Partition, back.PartitionSequence, back.Epoch, back.TimestampMs, back.Actor, back.Op, back.Bucket, back.Layer, back.Path, back.Key, back.K2, back.K3, back.PreviousAddress));
        Assert.Equal("{\"x\":1}", Encoding.UTF8.GetString(back.Value!));

        for (var i = 0; i < framed.Length; i++)
        {
            var damaged = (byte[])framed.Clone();
            damaged[i] ^= 0x01;
            Assert.Null(LogRecord.TryReadFramed(damaged));
        }
        Assert.Null(LogRecord.TryReadFramed(framed.AsMemory(0, framed.Length - 1)));
    }
}
