using Kv4.Engine.Model;
using Kv4.Services.Storage;

namespace Kv4.Tests.Services;

/// <summary>
/// Services reach storage through <see cref="IStore"/> and the request's <see cref="IBucketView"/>, never the engine
/// itself: the seam where a cluster's router goes. The one implementation over the engine lives in Storage/.
/// </summary>
[Trait("Category", "Unit")]
public sealed class StorageSeamTests
{
    [Fact]
    public void No_service_file_names_the_engines_store()
    {
        var services = Path.Combine(RepositoryRoot(), "Kv4.Services");
        var offenders = Directory.EnumerateFiles(services, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar)
                        && !f.Contains(Path.DirectorySeparatorChar + "Storage" + Path.DirectorySeparatorChar)
                        && Path.GetFileName(f) != "Kv4Runtime.cs")
            .Where(f => File.ReadAllText(f).Contains("Kv4Store"))
            .Select(f => Path.GetRelativePath(services, f))
            .ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public async Task A_request_sees_only_its_callers_bucket()
    {
        await using var h = await ServiceHarness.StartAsync();
        var (elena, _) = await h.CreateAccountAsync("elena");
        var (mark, _) = await h.CreateAccountAsync("mark");
        (await h.PutAsync(elena, "data", "shared/path", """{"k":"x","v":"elena's"}""")).Ok();
        (await h.PutAsync(mark, "data", "shared/path", """{"k":"x","v":"mark's"}""")).Ok();

        Assert.Equal("elena", h.Runtime.Storage.Bucket(elena.Bucket).Bucket);
        Assert.Equal("elena's", (await h.GetAsync(elena, "data", "shared/path", "k=x")).Ok().GetString());
        Assert.Equal("mark's", (await h.GetAsync(mark, "data", "shared/path", "k=x")).Ok().GetString());
        Assert.Same(h.Runtime.Storage.Bucket("elena"), h.Runtime.Storage.Bucket("elena"));
    }

    [Fact]
    public async Task The_engines_view_answers_reads_at_once_and_a_latest_read_allocates_nothing()
    {
        await using var s = Kv4.Tests.Engine.ScratchStore.Open();
        var view = new EngineStore(s.Store).Bucket("elena");
        await view.PutAsync("data", "a/b", "k", "{\"x\":1}"u8.ToArray(), "elena", secondaryKeys: new SecondaryKeys("mail"));

        var latest = await view.GetLatestAsync("data", "a/b", "k");
        Assert.Equal("{\"x\":1}", System.Text.Encoding.UTF8.GetString(latest!.Value.Json.Span));
        Assert.Null(await view.GetLatestAsync("data", "a/b", "nobody"));
        Assert.Equal(new KeyedValue("k", latest.Value), await view.GetBySecondaryKeyAsync("data", "a/b", SecondaryKeySlot.K2, "mail"));
        Assert.Null(await view.GetBySecondaryKeyAsync("data", "a/b", SecondaryKeySlot.K3, "mail"));
        Assert.Equal(new SecondaryKeys("mail"), await view.GetSecondaryKeysAsync("data", "a/b", "k"));
        Assert.Null(await view.GetSecondaryKeysAsync("data", "a/b", "nobody"));
        Assert.True(IsCompletedAtOnce(view));

        // The latest-value read is the GET of every request: over the engine it must cost what the engine's read costs.
        // Counted without an async method of its own: a Debug build's async state machines are classes.
        var hits = CountHits(view, 1000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        hits += CountHits(view, 1000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(2000, hits);
    }

    private static int CountHits(IBucketView view, int reads)
    {
        var hits = 0;
        for (var i = 0; i < reads; i++)
        {
            var read = view.GetLatestAsync("data", "a/b", "k");
            if (read.IsCompletedSuccessfully && read.Result is not null) hits++;
        }
        return hits;
    }

    private static bool IsCompletedAtOnce(IBucketView view) =>
        view.GetLatestAsync("data", "a/b", "k").IsCompletedSuccessfully
        && view.GetBySecondaryKeyAsync("data", "a/b", SecondaryKeySlot.K2, "mail").IsCompletedSuccessfully
        && view.GetSecondaryKeysAsync("data", "a/b", "k").IsCompletedSuccessfully
        && view.ListKeysAsync("data", "a/b").IsCompletedSuccessfully
        && view.ListKeysAsync("data", "a/b", null, 10).IsCompletedSuccessfully
        && view.ListPathsAsync("data", "").IsCompletedSuccessfully
        && view.ListPathsAsync("data", "", null, null, 10).IsCompletedSuccessfully
        && view.ListLayersAsync().IsCompletedSuccessfully
        && view.IncarnationAsync().IsCompletedSuccessfully
        && view.CurrentCursorAsync().IsCompletedSuccessfully;

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kv4.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Kv4.sln not found above " + AppContext.BaseDirectory);
    }
}
