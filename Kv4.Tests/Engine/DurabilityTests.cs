using Kv4.Engine;
using Kv4.Engine.Model;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class DurabilityTests
{
    /// <summary>Copies a live store's files, as a crash at this instant would leave them.</summary>
    private static string SnapshotFiles(string directory)
    {
        var copy = directory + "-crash-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var file in Directory.GetFiles(directory, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(directory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // A checkpoint being written (.tmp) or pruned right now is what a crash could leave too: skip it.
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            try { File.Copy(file, target); }
            catch (FileNotFoundException) { }
        }
        return copy;
    }

    /// <summary>Opens a crash image of the live store in <paramref name="directory"/>, runs the checks on it, removes it.</summary>
    private static async Task CheckCrashImageAsync(string directory, Action<Kv4Store> check)
    {
        var copy = SnapshotFiles(directory);
        try
        {
            await using var recovered = Kv4Store.Open(new StoreOptions { DataDirectory = copy });
            check(recovered);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task Sync_writes_are_durable_when_acknowledged_even_with_many_concurrent_writers()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, Durability = DurabilityMode.Sync });
        var writes = Enumerable.Range(0, 200).Select(i => s.Store.PutAsync(At($"p/{i % 5}", "k" + i), Json(i.ToString()), "u").AsTask());
        var results = await Task.WhenAll(writes);
        // Group commit: the writers shared commits rather than taking one each.
        Assert.InRange(s.Store.LogCommits, 1, 100);

        // Nothing is disposed or flushed: the files hold exactly what a crash now would leave.
        await CheckCrashImageAsync(s.Directory, recovered =>
        {
            Assert.Equal(200, recovered.AppendedRecords);
            for (var i = 0; i < 200; i++)
            {
                Assert.True(recovered.TryGetLatest(At($"p/{i % 5}", "k" + i), out var value));
                Assert.Equal(results[i].Version, value.Version);
                Assert.Equal(i.ToString(), Text(value.Json));
            }
        });
    }

    [Fact]
    public async Task Interval_writes_become_durable_by_the_periodic_commit_alone()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, CommitIntervalMs = 5 });
        for (var i = 0; i < 50; i++)
            await s.Store.PutAsync(At("p", "k" + i), Json(i.ToString()), "u");
        // No flush, no dispose: only the background commit can move the durable end past the last record.
        var tail = s.Store.LogTailAddress;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (s.Store.LogCommittedAddress < tail) await Task.Delay(5, timeout.Token);
        }
        await CheckCrashImageAsync(s.Directory, recovered =>
        {
            Assert.Equal(50, recovered.AppendedRecords);
            for (var i = 0; i < 50; i++)
            {
                Assert.True(recovered.TryGetLatest(At("p", "k" + i), out var value));
                Assert.Equal(i.ToString(), Text(value.Json));
            }
        });
    }

    [Fact]
    public async Task Flush_makes_interval_writes_durable()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, CommitIntervalMs = 60_000 });
        for (var i = 0; i < 50; i++)
            await s.Store.PutAsync(At("p", "k" + i), Json(i.ToString()), "u");
        await s.Store.FlushAsync();
        await CheckCrashImageAsync(s.Directory, recovered =>
        {
            Assert.Equal(50, recovered.ListKeys("b1", "data", "p").Count);
        });
    }

    [Fact]
    public async Task Concurrent_writers_on_one_key_with_compare_and_set_never_lose_an_update()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "counter"), Json("0"), "u");
        async Task Increment(int times)
        {
            for (var done = 0; done < times;)
            {
                Assert.True(s.Store.TryGetLatest(At("p", "counter"), out var current));
                var next = (int.Parse(Text(current.Json)) + 1).ToString();
                try
                {
                    await s.Store.PutAsync(At("p", "counter"), Json(next), "u", WriteCondition.IfVersion(current.Version));
                    done++;
                }
                catch (Kv4.Engine.Rules.EngineException e) when (e.Error == Kv4.Engine.Rules.EngineError.VersionConflict)
                {
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Increment(100))));
        Assert.True(s.Store.TryGetLatest(At("p", "counter"), out var final));
        Assert.Equal("400", Text(final.Json));
        Assert.Equal(401, (await s.Store.GetHistoryAsync(At("p", "counter"), HistoryQuery.All)).Count);
    }
}
