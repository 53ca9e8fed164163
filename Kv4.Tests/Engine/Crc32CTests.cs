using System.Text;
using Kv4.Engine.Log;

namespace Kv4.Tests.Engine;

/// <summary>The log's checksum: the published check value, and the fast form agreeing with the table form byte for byte.</summary>
[Trait("Category", "Unit")]
public class Crc32CTests
{
    [Fact]
    public void The_check_value_of_123456789_is_E3069283() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void The_fast_form_agrees_with_the_table_form_for_every_length_and_split()
    {
        var random = new Random(42);
        for (var length = 0; length < 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var expected = Crc32C.AppendByTable(0, data);
            Assert.Equal(expected, Crc32C.Compute(data));
            var split = length == 0 ? 0 : random.Next(length);
            Assert.Equal(expected, Crc32C.Append(Crc32C.Append(0, data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }
}
