using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>
/// Paging against a simple model, through the real services and store: for random keys, paths, versions and page
/// sizes, the pages of each listing (keys, `_ns`, `_ds`, a key's history, a path's history) concatenated are the
/// unpaged answer and the model's: nothing twice, nothing missing, in order.
/// </summary>
[Trait("Category", "Property")]
public sealed class PagingProperties : IAsyncLifetime
{
    private static readonly string[] Names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

    private ServiceHarness _h = null!;
    private Caller _elena = null!;
    private int _run;

    public async Task InitializeAsync()
    {
        _h = await ServiceHarness.StartAsync();
        (_elena, _) = await _h.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static readonly Gen<(string[] Live, string[] Deleted, int PageSize)> ListingCase =
        from live in Gen.SubListOf<string>(Names)
        from deleted in Gen.SubListOf<string>(live)
        from pageSize in Gen.Choose(1, 6)
        select (live.ToArray(), deleted.ToArray(), pageSize);

    private static readonly Gen<((string Key, bool Delete)[] Ops, int PageSize)> HistoryCase =
        from ops in Gen.ListOf(Gen.Zip(Gen.Elements("a", "b", "c"), Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))))
        from pageSize in Gen.Choose(1, 6)
        select (ops.Take(25).ToArray(), pageSize);

    [Property(MaxTest = 30)]
    public Property Paged_listings_concatenate_to_the_whole_listing() =>
        Prop.ForAll(ListingCase.ToArbitrary(), c => ListingsAsync(c.Live, c.Deleted, c.PageSize).GetAwaiter().GetResult());

    [Property(MaxTest = 30)]
    public Property Paged_histories_concatenate_to_the_whole_history() =>
        Prop.ForAll(HistoryCase.ToArbitrary(), c => HistoriesAsync(c.Ops, c.PageSize).GetAwaiter().GetResult());

    private async Task ListingsAsync(string[] live, string[] deleted, int pageSize)
    {
        var root = $"run{Interlocked.Increment(ref _run)}";
        foreach (var name in live)
        {
            await _h.PutAsync(_elena, "data", root, $$"""{"k":"{{name}}","v":1}""");
            await _h.PutAsync(_elena, "data", $"{root}/{name}", """{"k":"x","v":1}""");
            await _h.PutAsync(_elena, "ns", $"{root}/{name}", null);
        }
        foreach (var name in deleted)
        {
            await _h.DeleteAsync(_elena, "data", root, $"k={name}");
            await _h.DeleteAsync(_elena, "data", $"{root}/{name}", "k=x");
            await _h.DeleteAsync(_elena, "ns", $"{root}/{name}");
        }
        var remaining = live.Except(deleted).Order(StringComparer.Ordinal).ToArray();
        var paths = remaining.Select(n => $"{root}/{n}").ToArray();

        await AssertPagesAsync("data", root, "", pageSize, remaining, e => e.GetString()!);
        await AssertPagesAsync("ns", root, "", pageSize, paths, e => e.GetString()!);
        await AssertPagesAsync("ds", root, "l=data&", pageSize, remaining.Length > 0 ? [root, .. paths] : [], e => e.GetString()!);
    }

    private async Task HistoriesAsync((string Key, bool Delete)[] ops, int pageSize)
    {
        var root = $"hist{Interlocked.Increment(ref _run)}";
        var model = new List<(string Key, string Version)>();
        var liveKeys = new HashSet<string>();
        foreach (var (key, delete) in ops)
        {
            if (delete)
            {
                var deletedNow = (await _h.DeleteAsync(_elena, "data", root, $"k={key}")).Ok().GetInt32() == 1;
                Assert.Equal(liveKeys.Remove(key), deletedNow);
                if (deletedNow)
                {
                    var newest = (await _h.GetAsync(_elena, "data", root, $"time_series=1&k={key}&format=full&limit=1")).Ok()[0];
                    model.Add((key, newest.GetProperty("_ver_").GetString()!));
                }
            }
            else
            {
                var version = (await _h.PutAsync(_elena, "data", root, $$$"""{"k":"{{{key}}}","v":{"n":{{{model.Count}}}}}""")).Ok();
                model.Add((key, version.GetProperty("_ver_").GetString()!));
                liveKeys.Add(key);
            }
        }
        model.Reverse();

        await AssertPagesAsync("data", root, "time_series=1&format=full&", pageSize, model.Select(m => m.Version).ToArray(),
            e => e.GetProperty("_ver_").GetString()!);
        await AssertPagesAsync("data", root, "time_series=1&k=a&format=full&", pageSize,
            model.Where(m => m.Key == "a").Select(m => m.Version).ToArray(), e => e.GetProperty("_ver_").GetString()!);
    }

    private async Task AssertPagesAsync(string service, string path, string query, int pageSize, string[] expected,
        Func<System.Text.Json.JsonElement, string> itemOf)
    {
        var whole = await _h.GetAsync(_elena, service, path, query + "limit=10000");
        Assert.False(whole.Root.TryGetProperty("next", out _));
        Assert.Equal(expected, whole.Ok().EnumerateArray().Select(itemOf));

        var paged = new List<string>();
        string? cursor = null;
        do
        {
            var reply = await _h.GetAsync(_elena, service, path, query + $"limit={pageSize}" + (cursor is null ? "" : "&cursor=" + cursor));
            var items = reply.Ok().EnumerateArray().Select(itemOf).ToArray();
            Assert.InRange(items.Length, expected.Length == 0 ? 0 : 1, pageSize);
            paged.AddRange(items);
            cursor = reply.Root.TryGetProperty("next", out var next) ? next.GetString() : null;
            Assert.True(cursor is null || items.Length == pageSize, "a page cut by its size alone is full");
            Assert.True(paged.Count <= expected.Length, "no more items than the listing holds");
        } while (cursor is not null);
        Assert.Equal(expected, paged);
    }
}
