using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

/// <summary>
/// Durable reads: in sync mode a reader sees a version only once its record is committed, so a crash never takes back
/// what anyone read. The test holds the commit loop after a commit has reached the disk but before the store moves its
/// durable horizon (the commit observer runs in between), which is the widest window there is, and looks at every read.
/// </summary>
[Trait("Category", "Unit")]
public sealed class DurableReadTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly ManualResetEventSlim _entered = new();
    private readonly ManualResetEventSlim _release = new(initialState: true);
    private readonly ScratchStore _s;

    public DurableReadTests()
    {
        _s = ScratchStore.Open(o => new StoreOptions
        {
            DataDirectory = o.DataDirectory,
            Clock = o.Clock,
            Durability = DurabilityMode.Sync,
            CommitObserved = _ =>
            {
                if (_release.IsSet) return;
                _entered.Set();
                _release.Wait(Patience);
            },
        });
    }

    [Fact]
    public async Task In_sync_mode_no_read_shows_a_version_before_its_commit_and_a_lost_compare_and_set_waits_to_see_the_winner()
    {
        var store = _s.Store;
        Assert.True(store.DurableReads);
        var v1 = await store.PutAsync(At("a", "k"), Json("1"), "u", secondaryKeys: new SecondaryKeys(K2: "one"));
        using var timeout = new CancellationTokenSource(Patience);
        var feed = store.ReadChangesAsync(new ChangeFilter("b1"), after: null, timeout.Token).GetAsyncEnumerator(timeout.Token);
        var nextChange = feed.MoveNextAsync().AsTask();
        try
        {

        // Hold the next commit between the disk and the horizon.
        _release.Reset();
        var v2 = store.PutAsync(At("a", "k"), Json("2"), "u", secondaryKeys: new SecondaryKeys(K2: "two")).AsTask();
        Assert.True(_entered.Wait(Patience), "the commit never reached the observer");
        var fresh = store.PutAsync(At("a", "new"), Json("1"), "u").AsTask();

        Assert.True(store.TryGetLatest(At("a", "k"), out var seen));
        Assert.Equal("1", Text(seen.Json));
        Assert.Equal(v1.Version, seen.Version);
        // A lookup by secondary key never shows the uncommitted version (by the value it replaced it may miss in this
        // window: the table follows the latest version; see docs/architecture.md).
        Assert.False(store.TryGetBySecondaryKey("b1", "data", "a", SecondaryKeySlot.K2, "two", out _, out _));
        Assert.True(store.TryGetSecondaryKeys(At("a", "k"), out var keys) && keys.K2 == "one");
        Assert.False(store.TryGetLatest(At("a", "new"), out _));
        Assert.Equal(["k"], store.ListKeys("b1", "data", "a"));
        Assert.Equal(["1"], (await store.GetHistoryAsync(At("a", "k"), HistoryQuery.All)).Select(h => Text(h.Value)));
        Assert.Equal(["1"], (await store.GetPathHistoryAsync("b1", "data", "a", HistoryQuery.All)).Select(h => Text(h.Value)));

        // A compare-and-set made from the visible version loses to v2, and says so only once v2 can be seen.
        var lost = store.PutAsync(At("a", "k"), Json("3"), "u", WriteCondition.IfVersion(v1.Version)).AsTask();
        Assert.False(lost.IsCompleted, "the refusal came while the version it lost to was not yet visible");
        Assert.False(v2.IsCompleted || fresh.IsCompleted || nextChange.IsCompleted, "something was acknowledged or delivered before its commit");

        _release.Set();
        var won = await v2;
        await fresh;
        var conflict = await Assert.ThrowsAsync<EngineException>(() => lost);
        Assert.Equal(EngineError.VersionConflict, conflict.Error);
        Assert.True(store.TryGetLatest(At("a", "k"), out seen));
        Assert.Equal(won.Version, seen.Version);
        Assert.True(store.TryGetLatest(At("a", "new"), out _));
        Assert.Equal(["k", "new"], store.ListKeys("b1", "data", "a"));
        Assert.True(await nextChange);
        Assert.Equal(won.Version, feed.Current.Version);
        }
        finally
        {
            _release.Set();
            await timeout.CancelAsync();
            try { await nextChange; } catch (OperationCanceledException) { }
            await feed.DisposeAsync();
        }
    }

    [Fact]
    public async Task Interval_mode_shows_a_write_at_once_unless_durable_reads_are_asked_for()
    {
        await using var shown = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, CommitIntervalMs = 3_600_000 });
        Assert.False(shown.Store.DurableReads);
        await shown.Store.PutAsync(At("a", "k"), Json("1"), "u");
        Assert.True(shown.Store.LogCommittedAddress < shown.Store.LogTailAddress, "the write was committed already");
        Assert.True(shown.Store.TryGetLatest(At("a", "k"), out _));

        await using var held = ScratchStore.Open(o => new StoreOptions
        {
            DataDirectory = o.DataDirectory, Clock = o.Clock, CommitIntervalMs = 3_600_000, DurableReads = true,
        });
        await held.Store.PutAsync(At("a", "k"), Json("1"), "u");
        Assert.False(held.Store.TryGetLatest(At("a", "k"), out _));
        await held.Store.FlushAsync();
        Assert.True(held.Store.TryGetLatest(At("a", "k"), out _));
    }

    public async ValueTask DisposeAsync()
    {
        _release.Set();
        await _s.DisposeAsync();
        _entered.Dispose();
        _release.Dispose();
    }
}
