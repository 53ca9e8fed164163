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

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kv4.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Kv4.sln not found above " + AppContext.BaseDirectory);
    }
}
