using Kv4.Engine.Rules;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class AddressRulesTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("/", "")]
    [InlineData("a", "a")]
    [InlineData("/a/b/c/", "a/b/c")]
    [InlineData("my/data/path", "my/data/path")]
    [InlineData("ünï/cødé", "ünï/cødé")]
    public void Paths_are_normalized(string raw, string expected)
    {
        Assert.True(AddressRules.TryNormalizePath(raw, out var path));
        Assert.Equal(expected, path);
    }

    [Theory]
    [InlineData("a//b")]
    [InlineData("//")]
    [InlineData("a/./b")]
    [InlineData("a/../b")]
    [InlineData("..")]
    [InlineData("a/\u0001b")]
    [InlineData("a\nb")]
    public void Bad_paths_are_refused(string raw)
    {
        Assert.False(AddressRules.TryNormalizePath(raw, out _));
        var ex = Assert.Throws<EngineException>(() => AddressRules.NormalizePath(raw));
        Assert.Equal(EngineError.BadPath, ex.Error);
    }

    [Fact]
    public void Path_limits_are_segments_and_segment_bytes()
    {
        Assert.True(AddressRules.TryNormalizePath(string.Join('/', Enumerable.Repeat("s", 32)), out _));
        Assert.False(AddressRules.TryNormalizePath(string.Join('/', Enumerable.Repeat("s", 33)), out _));
        Assert.True(AddressRules.TryNormalizePath(new string('x', 255), out _));
        Assert.False(AddressRules.TryNormalizePath(new string('x', 256), out _));
        // 128 two-byte characters are 256 bytes of UTF-8: over the limit although only 128 chars.
        Assert.False(AddressRules.TryNormalizePath(new string('é', 128), out _));
    }

    [Fact]
    public void Keys_are_bounded_and_free_of_control_characters()
    {
        Assert.True(AddressRules.IsValidKey("mykey"));
        Assert.True(AddressRules.IsValidKey(new string('k', 512)));
        Assert.False(AddressRules.IsValidKey(new string('k', 513)));
        Assert.False(AddressRules.IsValidKey(""));
        Assert.False(AddressRules.IsValidKey(null));
        Assert.False(AddressRules.IsValidKey("a\tb"));
        Assert.Equal(EngineError.BadKey, Assert.Throws<EngineException>(() => AddressRules.ValidateKey("")).Error);
    }

    [Theory]
    [InlineData("data", true)]
    [InlineData("router:pkt", true)]
    [InlineData("a_b-c9", true)]
    [InlineData("Data", false)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void Layers_follow_their_alphabet(string layer, bool valid) => Assert.Equal(valid, AddressRules.IsValidLayer(layer));

    [Theory]
    [InlineData("$sys", true)]
    [InlineData("elena", true)]
    [InlineData("elena#lily", true)]
    [InlineData("elena#lily#rose", false)]
    [InlineData("#lily", false)]
    [InlineData("elena#", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void Buckets_nest_two_levels_at_most(string bucket, bool valid) => Assert.Equal(valid, AddressRules.IsValidBucket(bucket));

    [Theory]
    [InlineData("a/b", "a", true)]
    [InlineData("a/b", "a/b", true)]
    [InlineData("a/bc", "a/b", false)]
    [InlineData("a", "", true)]
    [InlineData("b", "a", false)]
    public void Under_means_by_whole_segments(string path, string prefix, bool under) => Assert.Equal(under, AddressRules.IsUnder(path, prefix));
}
