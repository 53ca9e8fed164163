using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>`_ns` (http-api.md §5.2) on a real store.</summary>
[Trait("Category", "Unit")]
public sealed class NamespaceServiceTests : IAsyncLifetime
{
    private ServiceHarness _h = null!;
    private Caller _elena = null!;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        (_elena, _) = await _h.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task Create(params string[] paths)
    {
        foreach (var path in paths) Assert.Equal(path, (await _h.PutAsync(_elena, "ns", path, null)).Ok().GetString());
    }

    [Fact]
    public async Task Created_nodes_are_listed_sorted_without_a_leading_slash()
    {
        await Create("b", "a/b/c", "a", "a/x");
        Assert.Equal(["a", "a/b/c", "a/x", "b"], (await _h.GetAsync(_elena, "ns")).Strings());
        Assert.Equal(["a", "a/b/c", "a/x"], (await _h.GetAsync(_elena, "ns", "a")).Strings());
        Assert.Equal(["a/b/c"], (await _h.GetAsync(_elena, "ns", "/a/b/")).Strings());
        Assert.Empty((await _h.GetAsync(_elena, "ns", "zzz")).Strings());
    }

    [Fact]
    public async Task Depth_counts_segments_under_the_current_path()
    {
        await Create("a", "a/b", "a/b/c", "a/b/c/d", "x/y");
        // At the root the count starts at the root.
        Assert.Equal(["a"], (await _h.GetAsync(_elena, "ns", "", "depth=1")).Strings());
        Assert.Equal(["a", "a/b", "x/y"], (await _h.GetAsync(_elena, "ns", "", "depth=2")).Strings());
        // Under a path the depth counts from that path: the node and N segments below it.
        Assert.Equal(["a", "a/b"], (await _h.GetAsync(_elena, "ns", "a", "depth=1")).Strings());
        Assert.Equal(["a/b", "a/b/c"], (await _h.GetAsync(_elena, "ns", "a/b", "depth=1")).Strings());
        Assert.Equal(["a/b"], (await _h.GetAsync(_elena, "ns", "a/b", "depth=0")).Strings());
        Assert.Equal(["a/b", "a/b/c", "a/b/c/d"], (await _h.GetAsync(_elena, "ns", "a/b", "depth=3")).Strings());
        Assert.Empty((await _h.GetAsync(_elena, "ns", "", "depth=0")).Strings());
        Assert.Equal(5, (await _h.GetAsync(_elena, "ns", "", "depth=99999")).Strings().Length);
        (await _h.GetAsync(_elena, "ns", "", "depth=-1")).Is("bad_param");
        (await _h.GetAsync(_elena, "ns", "", "depth=two")).Is("bad_param");
    }

    [Fact]
    public async Task A_node_has_a_history_of_its_creations_and_deletions()
    {
        await Create("a", "a/b");
        Assert.Equal(2, (await _h.DeleteAsync(_elena, "ns", "a")).Ok().GetInt32());
        await Create("a");
        var history = (await _h.GetAsync(_elena, "ns", "a", "time_series=1")).Ok();
        Assert.Equal(["true", "null", "true"], history.EnumerateArray().Select(e => e[2].GetRawText()));
        var full = (await _h.GetAsync(_elena, "ns", "a/b", "time_series=1&format=full")).Ok();
        Assert.Equal(["delete", "put"], full.EnumerateArray().Select(e => e.GetProperty("op").GetString()));
        Assert.Empty((await _h.GetAsync(_elena, "ns", "never", "time_series=1")).Ok().EnumerateArray());
    }

    [Fact]
    public async Task Creating_twice_changes_nothing()
    {
        await Create("a");
        await Create("a");
        Assert.Equal(["a"], (await _h.GetAsync(_elena, "ns")).Strings());
        Assert.Single(await _h.Store.GetHistoryAsync(new("elena", "ns", "a", "node"), Kv4.Engine.Model.HistoryQuery.All));
        Assert.True(await _h.Services.Namespaces.ExistsAsync(_h.Runtime.Storage.Bucket("elena"), "a", CancellationToken.None));
        Assert.False(await _h.Services.Namespaces.ExistsAsync(_h.Runtime.Storage.Bucket("elena"), "b", CancellationToken.None));
        Assert.False(await _h.Services.Namespaces.ExistsAsync(_h.Runtime.Storage.Bucket("bob"), "a", CancellationToken.None));
    }

    [Fact]
    public async Task Deleting_a_node_removes_it_and_every_node_below()
    {
        await Create("a", "a/b", "a/b/c", "ab", "x");
        Assert.Equal(3, (await _h.DeleteAsync(_elena, "ns", "a")).Ok().GetInt32());
        Assert.Equal(["ab", "x"], (await _h.GetAsync(_elena, "ns")).Strings());
        Assert.Equal(0, (await _h.DeleteAsync(_elena, "ns", "a")).Ok().GetInt32());
        Assert.Equal(2, (await _h.DeleteAsync(_elena, "ns", "")).Ok().GetInt32());
        Assert.Empty((await _h.GetAsync(_elena, "ns")).Strings());
    }

    [Fact]
    public async Task The_root_is_not_a_node_and_post_is_not_served()
    {
        (await _h.PutAsync(_elena, "ns", "", null)).Is("bad_path");
        (await _h.PostAsync(_elena, "ns", "a", "{}")).Is("method_not_allowed");
        Assert.Empty((await _h.GetAsync(_elena, "ns")).Strings());
    }
}
