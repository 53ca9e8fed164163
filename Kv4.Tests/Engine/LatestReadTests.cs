using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

/// <summary>
/// The latest-value read skips validation when the address is found (only valid, normalized addresses are in the
/// index); these pin what a miss must still do: normalize the path, and refuse bad input with its typed error.
/// </summary>
[Trait("Category", "Unit")]
public class LatestReadTests
{
    [Fact]
    public async Task A_path_with_outer_slashes_finds_the_entry_of_its_normal_form()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("a/b", "k"), Json("1"), "u");
        Assert.True(s.Store.TryGetLatest(At("/a/b/", "k"), out var value));
        Assert.Equal("1", Text(value.Json));
        Assert.True(s.Store.TryGetLatest(At("a/b/", "k"), out _));
    }

    [Theory]
    [InlineData("bad\u0001key", "data", "p", EngineError.BadKey)]
    [InlineData("k", "Bad Layer", "p", EngineError.BadLayer)]
    [InlineData("k", "data", "a//b", EngineError.BadPath)]
    [InlineData("k", "data", "a/../b", EngineError.BadPath)]
    public async Task Bad_input_to_a_read_is_refused_with_its_typed_error(string key, string layer, string path, EngineError expected)
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "k"), Json("1"), "u");
        var refused = Assert.Throws<EngineException>(() => s.Store.TryGetLatest(new EntryAddress("b1", layer, path, key), out _));
        Assert.Equal(expected, refused.Error);
    }

    [Fact]
    public async Task A_default_address_is_refused_not_a_null_reference()
    {
        await using var s = ScratchStore.Open();
        Assert.Throws<EngineException>(() => s.Store.TryGetLatest(default, out _));
    }
}
