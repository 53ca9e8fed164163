namespace Kv4.Benchmarks.Workload;

/// <summary>A fresh directory under the system temp folder, deleted on dispose; each store gets its own.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"kv4-bench-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a file still held open by a closing device: leave it to the temp cleaner */ }
    }
}
