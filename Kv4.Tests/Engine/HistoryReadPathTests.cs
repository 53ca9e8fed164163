using Kv4.Engine.Model;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

/// <summary>
/// History reads take two paths: versions still in the log's in-memory pages are read from memory, older
/// ones from the device. A history that spans both must come back whole and in order.
/// </summary>
[Trait("Category", "Unit")]
public class HistoryReadPathTests
{
    [Fact]
    public async Task A_history_spanning_evicted_and_in_memory_log_pages_is_whole_and_newest_first()
    {
        // The smallest log buffer (4 pages of 4 MiB), so 24 MiB of other writes push the first versions out of memory.
        await using var s = ScratchStore.Open(o => new Kv4.Engine.StoreOptions
        {
            DataDirectory = o.DataDirectory, Clock = o.Clock, LogMemorySizeBits = 20,
        });
        var versions = new List<VersionId>();
        for (var i = 0; i < 3; i++)
            versions.Add((await s.Store.PutAsync(At("p", "k"), Json($$"""{"n":{{i}}}"""), "old")).Version);

        var filler = Json("\"" + new string('x', 24 * 1024) + "\"");
        for (var i = 0; i < 1024; i++)
            await s.Store.PutAsync(At("filler", $"f{i % 50}"), filler, "filler");

        for (var i = 3; i < 5; i++)
            versions.Add((await s.Store.PutAsync(At("p", "k"), Json($$"""{"n":{{i}}}"""), "new")).Version);

        var history = await s.Store.GetHistoryAsync(At("p", "k"), HistoryQuery.All);
        Assert.Equal(Enumerable.Reverse(versions), history.Select(h => h.Version));
        Assert.Equal(["""{"n":4}""", """{"n":3}""", """{"n":2}""", """{"n":1}""", """{"n":0}"""], history.Select(h => Text(h.Value)));
        Assert.Equal(["new", "new", "old", "old", "old"], history.Select(h => h.Actor));

        // The filler keys' histories are read back too (most of them from the device now).
        var fillerHistory = await s.Store.GetHistoryAsync(At("filler", "f0"), HistoryQuery.All);
        Assert.Equal(1024 / 50 + 1, fillerHistory.Count);
        Assert.All(fillerHistory, h => Assert.Equal(24 * 1024 + 2, h.Value!.Value.Length));
    }
}
