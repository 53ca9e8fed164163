using Kv4.Engine;
using Kv4.Services.Api;
using Kv4.Services.Stats;

namespace Kv4.Tests.Platform;

/// <summary>`_stats` over a real store in a temporary directory, with a clock the test moves; reopenable in place.</summary>
internal sealed class StatsFixture : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kv4-stats-tests", Guid.NewGuid().ToString("N"));

    public StatsFixture(DateTimeOffset start)
    {
        Clock = new ManualClock(start);
        Open();
    }

    public ManualClock Clock { get; }
    public Kv4Store Store { get; private set; } = null!;
    public StatsRecorder Recorder { get; private set; } = null!;
    public StatsService Service { get; private set; } = null!;

    private void Open()
    {
        Store = Kv4Store.Open(new StoreOptions { DataDirectory = _directory });
        Recorder = new StatsRecorder(new StatsAccumulator(), new StatsRollupStore(new Kv4.Services.Storage.EngineStore(Store)), new StatsOptions(), Clock);
        Service = new StatsService(Recorder);
    }

    public async Task ReopenAsync()
    {
        await Store.DisposeAsync();
        Open();
    }

    public ValueTask<ApiReply> Call(ApiMethod method, string entity, string? body = null, Caller? caller = null, params (string, string)[] query) =>
        Service.HandleAsync(ApiCalls.Request(method, "stats", entity, body, caller, query));

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }
}
