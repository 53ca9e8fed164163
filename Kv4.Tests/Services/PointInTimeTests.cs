using Kv4.Services.Common;

namespace Kv4.Tests.Services;

/// <summary>The grammar of `at` (<see cref="PointInTime"/>): unix ms or ISO 8601, nothing else.</summary>
[Trait("Category", "Unit")]
public sealed class PointInTimeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1764700800000", 1764700800000L)]
    [InlineData("2025-12-02", 1764633600000L)]
    [InlineData("2025-12-02T18:40Z", 1764700800000L)]
    [InlineData("2025-12-02T18:40:00Z", 1764700800000L)]
    [InlineData("2025-12-02T18:40:00", 1764700800000L)]
    [InlineData("2025-12-02T18:40:00.250Z", 1764700800250L)]
    [InlineData("2025-12-02T19:40:00.250+01:00", 1764700800250L)]
    [InlineData("9999-12-31T23:59:59.999Z", 253402300799999L)]
    public void Instants_parse_to_unix_ms(string text, long expected)
    {
        Assert.True(PointInTime.TryParse(text, out var ms));
        Assert.Equal(expected, ms);
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData(" 5")]
    [InlineData("1764700800000.5")]
    [InlineData("1e12")]
    [InlineData("253402300800000")]
    [InlineData("9999999999999999")]
    [InlineData("2025-13-01")]
    [InlineData("2025-02-30")]
    [InlineData("2025-12-02 18:40:00")]
    [InlineData("Dec 2 2025")]
    [InlineData("1969-12-31T23:59:59Z")]
    public void Anything_else_is_refused(string text) => Assert.False(PointInTime.TryParse(text, out _));
}
