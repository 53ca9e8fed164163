using FsCheck.Xunit;
using Kv4.Services.Common;

namespace Kv4.Tests.Services;

[Trait("Category", "Unit")]
public class TimeGroupTests
{
    private static long Ms(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) =>
        new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void The_contract_example_spans_three_to_six_fifty_nine()
    {
        Assert.True(TimeGroup.TryParseRange("2016:3:16:3", "2016:3:16:6", out var from, out var to));
        Assert.Equal(Ms(2016, 3, 16, 3), from);
        Assert.Equal(Ms(2016, 3, 16, 7) - 1, to);
    }

    [Theory]
    [InlineData("2016", 1)]
    [InlineData("2016:2", 2)]
    [InlineData("2016:2:29", 3)]
    [InlineData("2016:2:29:23", 4)]
    [InlineData("2016:2:29:23:59", 5)]
    [InlineData("2016:02:09:03:04:05", 6)]
    public void Every_depth_parses(string text, int depth)
    {
        Assert.True(TimeGroup.TryParse(text, out var group));
        Assert.Equal(depth, group.Depth);
        Assert.True(group.EndInclusiveMs > group.StartMs);
    }

    [Fact]
    public void A_group_ends_at_the_end_of_its_calendar_unit()
    {
        Assert.True(TimeGroup.TryParse("2016:2", out var feb));
        Assert.Equal(Ms(2016, 2, 1), feb.StartMs);
        Assert.Equal(Ms(2016, 3, 1) - 1, feb.EndInclusiveMs);
        Assert.True(TimeGroup.TryParse("2016", out var year));
        Assert.Equal(Ms(2017, 1, 1) - 1, year.EndInclusiveMs);
        Assert.True(TimeGroup.TryParse("2016:12:31:23:59:59", out var second));
        Assert.Equal(Ms(2016, 12, 31, 23, 59, 59) + 999, second.EndInclusiveMs);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2016:")]
    [InlineData(":3")]
    [InlineData("2016:13")]
    [InlineData("2016:0")]
    [InlineData("2015:2:29")]
    [InlineData("2016:4:31")]
    [InlineData("2016:3:16:24")]
    [InlineData("2016:3:16:3:60")]
    [InlineData("2016:3:16:3:0:60")]
    [InlineData("2016:3:16:3:0:0:0")]
    [InlineData("1969")]
    [InlineData("20166")]
    [InlineData("-2016")]
    [InlineData("2016:+3")]
    [InlineData("2016:3 ")]
    [InlineData("abc")]
    public void Malformed_groups_are_refused(string text) => Assert.False(TimeGroup.TryParse(text, out _));

    [Fact]
    public void A_range_needs_both_ends_valid_and_in_order()
    {
        Assert.False(TimeGroup.TryParseRange("2016:3:16:7", "2016:3:16:6", out _, out _));
        Assert.False(TimeGroup.TryParseRange("2016", "x", out _, out _));
        Assert.True(TimeGroup.TryParseRange("2016:3:16:6", "2016:3:16:6", out var from, out var to));
        Assert.Equal(Ms(2016, 3, 16, 7) - 1, to);
        Assert.Equal(Ms(2016, 3, 16, 6), from);
        Assert.True(TimeGroup.TryParseRange(null, null, out from, out to));
        Assert.Equal((long.MinValue, long.MaxValue), (from, to));
    }

    [Fact]
    public void Format_writes_the_group_key_at_a_depth()
    {
        var t = Ms(2016, 3, 16, 5, 7, 9) + 120;
        Assert.Equal("2016:3:16:5", TimeGroup.Format(t, 4));
        Assert.Equal("2016", TimeGroup.Format(t, 1));
        Assert.Equal("2016:3:16:5:7:9", TimeGroup.Format(t, 6));
        Assert.True(TimeGroup.TryParse(TimeGroup.Format(t, 5), out var g));
        Assert.InRange(t, g.StartMs, g.EndInclusiveMs);
    }

    [Property(MaxTest = 500)]
    public bool A_formatted_group_parses_back_to_a_group_holding_the_time(uint seconds, ushort millis, byte depthSeed)
    {
        var t = seconds * 1000L + millis % 1000;
        var depth = depthSeed % TimeGroup.MaxDepth + 1;
        return TimeGroup.TryParse(TimeGroup.Format(t, depth), out var group)
            && group.Depth == depth
            && group.StartMs <= t && t <= group.EndInclusiveMs
            && TimeGroup.Format(group.StartMs, depth) == TimeGroup.Format(group.EndInclusiveMs, depth)
            && TimeGroup.Format(group.EndInclusiveMs + 1, depth) != TimeGroup.Format(t, depth);
    }
}
