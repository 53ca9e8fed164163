using System.Text;
using Kv4.Engine;
using Kv4.Engine.Model;

namespace Kv4.Tests.Engine;

/// <summary>A store in a fresh temporary directory, removed on dispose; reopenable in place.</summary>
internal sealed class ScratchStore : IAsyncDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "kv4-engine-tests", Guid.NewGuid().ToString("N"));
    public Func<StoreOptions, StoreOptions> Configure { get; init; } = o => o;
    public ManualClock Clock { get; } = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    public Kv4Store Store { get; private set; } = null!;

    public static ScratchStore Open(Func<StoreOptions, StoreOptions>? configure = null)
    {
        var scratch = new ScratchStore { Configure = configure ?? (o => o) };
        scratch.Store = Kv4Store.Open(scratch.Options());
        return scratch;
    }

    public StoreOptions Options() => Configure(new StoreOptions { DataDirectory = Directory, Clock = Clock });

    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Store = Kv4Store.Open(Options());
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }

    public static EntryAddress At(string path, string key, string bucket = "b1", string layer = "data") => new(bucket, layer, path, key);

    public static ReadOnlyMemory<byte> Json(string json) => Encoding.UTF8.GetBytes(json);

    public static string Text(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? Encoding.UTF8.GetString(b.Span) : "<null>";
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _nowMs = start.ToUnixTimeMilliseconds();
    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _nowMs));
    public long NowMs => Interlocked.Read(ref _nowMs);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _nowMs, (long)by.TotalMilliseconds);
}
