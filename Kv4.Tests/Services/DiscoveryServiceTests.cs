using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>`_ds` (http-api.md §5.11) on a real store.</summary>
[Trait("Category", "Unit")]
public sealed class DiscoveryServiceTests : IAsyncLifetime
{
    private ServiceHarness _h = null!;
    private Caller _elena = null!;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        (_elena, _) = await _h.CreateAccountAsync("elena");
        await _h.PutAsync(_elena, "data", "a", """{"k":"1","v":1}""");
        await _h.PutAsync(_elena, "data", "a/b/c", """{"k":"1","v":1}""");
        await _h.PutAsync(_elena, "data", "a/b/c", """{"k":"2","v":1}""");
        await _h.PutAsync(_elena, "data", "x", """{"k":"1","v":1}""");
        await _h.PutAsync(_elena, "ns", "rooms", null);
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task The_root_lists_layers_with_entry_counts() =>
        Assert.Equal("""{"s":"ok","v":{"data":4,"ns":1}}""", (await _h.GetAsync(_elena, "ds")).Text);

    [Fact]
    public async Task A_layer_lists_the_paths_holding_entries()
    {
        Assert.Equal(["a", "a/b/c", "x"], (await _h.GetAsync(_elena, "ds", "", "l=data")).Strings());
        Assert.Equal(["a", "a/b/c"], (await _h.GetAsync(_elena, "ds", "a", "l=data")).Strings());
        Assert.Equal(["a", "x"], (await _h.GetAsync(_elena, "ds", "", "l=data&depth=2")).Strings());
        Assert.Equal(["rooms"], (await _h.GetAsync(_elena, "ds", "", "l=ns")).Strings());
        Assert.Empty((await _h.GetAsync(_elena, "ds", "", "l=nothing")).Strings());
    }

    [Fact]
    public async Task Deleted_entries_leave_the_listing()
    {
        await _h.DeleteAsync(_elena, "data", "a/b");
        Assert.Equal(["a", "x"], (await _h.GetAsync(_elena, "ds", "", "l=data")).Strings());
        Assert.Equal(2, (await _h.GetAsync(_elena, "ds")).Ok().GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task Bad_parameters_and_writes_are_refused()
    {
        (await _h.GetAsync(_elena, "ds", "a")).Is("bad_param");
        (await _h.GetAsync(_elena, "ds", "", "l=Bad Layer")).Is("bad_param");
        (await _h.GetAsync(_elena, "ds", "", "l=data&depth=x")).Is("bad_param");
        (await _h.PutAsync(_elena, "ds", "a", """{"k":"a","v":1}""")).Is("method_not_allowed");
        (await _h.DeleteAsync(_elena, "ds", "a")).Is("method_not_allowed");
        (await _h.PostAsync(_elena, "ds", "a", "{}")).Is("method_not_allowed");
    }
}
