using Kv4.Engine;
using Kv4.Engine.Model;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class RecoveryTests
{
    [Fact]
    public async Task Reopen_restores_values_versions_tombstones_secondary_keys_counts_and_sequences()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("a/b", "k1"), Json("{\"n\":1}"), "u", secondaryKeys: new SecondaryKeys(K2: "x"));
        var v2 = await s.Store.PutAsync(At("a/c", "k2"), Json("[1,2]"), "u");
        await s.Store.PutAsync(At("a/b", "gone"), Json("1"), "u");
        await s.Store.DeleteAsync(At("a/b", "gone"), "u");
        var last = s.Store.AppendedRecords;

        await s.ReopenAsync();
        Assert.Equal(last, s.Store.AppendedRecords);
        Assert.True(s.Store.TryGetLatest(At("a/c", "k2"), out var value));
        Assert.Equal(v2.Version, value.Version);
        Assert.Equal("[1,2]", Text(value.Json));
        Assert.False(s.Store.TryGetLatest(At("a/b", "gone"), out _));
        Assert.True(s.Store.TryGetBySecondaryKey("b1", "data", "a/b", SecondaryKeySlot.K2, "x", out var owner, out _));
        Assert.Equal("k1", owner);
        Assert.Equal([new LayerCount("data", 2)], s.Store.ListLayers("b1"));
        Assert.Equal(["a/b", "a/c"], s.Store.ListPaths("b1", "data", ""));
        Assert.Equal(2, (await s.Store.GetHistoryAsync(At("a/b", "gone"), HistoryQuery.All)).Count);

        var next = await s.Store.PutAsync(At("a/c", "k2"), Json("3"), "u", WriteCondition.IfVersion(v2.Version));
        Assert.Equal(v2.PartitionSequence + 1, next.PartitionSequence);
        // A clean stop keeps the partition's epoch: the version runs on.
        Assert.Equal(VersionId.Of(v2.Version.Epoch, v2.Partition, next.PartitionSequence), next.Version);
        Assert.Equal(last + 1, s.Store.AppendedRecords);
    }
}

[Trait("Category", "Unit")]
public class CheckpointAndDamageTests
{
    private static StoreOptions Small(StoreOptions o, long checkpointEvery = 1_000_000) =>
        new() { DataDirectory = o.DataDirectory, Clock = o.Clock, CheckpointEveryRecords = checkpointEvery };

    [Fact]
    public async Task Reopen_after_many_records_uses_a_checkpoint_in_the_middle_and_replays_only_the_rest()
    {
        await using var s = ScratchStore.Open(o => Small(o, checkpointEvery: 1000));
        for (var i = 0; i < 5500; i++)
            await s.Store.PutAsync(At($"p/{i % 13}", "k" + (i % 300)), Json(i.ToString()), "u");
        await s.Store.CheckpointAsync();
        for (var i = 5500; i < 6000; i++)
            await s.Store.PutAsync(At($"p/{i % 13}", "k" + (i % 300)), Json(i.ToString()), "u");
        await s.Store.FlushAsync();

        // Reopen from the files as they are (no dispose, so no final checkpoint): checkpoint + tail replay.
        var copy = s.Directory + "-copy";
        CopyDirectory(s.Directory, copy);
        try
        {
            await using var reopened = Kv4Store.Open(new StoreOptions { DataDirectory = copy });
            Assert.InRange(reopened.OpenedWith.ReplayedRecords, 1, 1000);
            Assert.Null(reopened.OpenedWith.Damaged);
            Assert.Equal(6000, reopened.AppendedRecords);
            for (var i = 5700; i < 6000; i++)
            {
                Assert.True(reopened.TryGetLatest(At($"p/{i % 13}", "k" + (i % 300)), out var value));
                Assert.Equal(i.ToString(), Text(value.Json));
            }
            var history = await reopened.GetHistoryAsync(At("p/0", "k0"), HistoryQuery.All);
            Assert.Equal(Enumerable.Range(0, 6000).Where(i => i % 13 == 0 && i % 300 == 0).Reverse().Select(i => i.ToString()), history.Select(h => Text(h.Value)));
            Assert.Equal(13 * 300, reopened.ListPaths("b1", "data", "").Sum(p => reopened.ListKeys("b1", "data", p).Count));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    public async Task A_damaged_log_tail_is_dropped_and_the_store_keeps_working_across_reopens(string damage)
    {
        await using var s = ScratchStore.Open();
        for (var i = 0; i < 100; i++)
            await s.Store.PutAsync(At("p", "k" + i), Json(i.ToString()), "u");
        await s.Store.CheckpointAsync();
        var goodTail = s.Store.LogTailAddress;
        for (var i = 100; i < 200; i++)
            await s.Store.PutAsync(At("p", "k" + i), Json(i.ToString()), "u");
        var damagedTail = s.Store.LogTailAddress;
        await s.Store.DisposeAsync();

        var logFile = Path.Combine(s.Directory, "log", "kv4.log.0");
        var at = goodTail + (damagedTail - goodTail) / 2;
        if (damage == "flip")
        {
            // 16 bytes: at a record's start they would otherwise all be FasterLog's entry checksum, which a read does not
            // check (the record itself is intact then); 16 reach into the record's length and payload wherever they start.
            await using var file = File.Open(logFile, FileMode.Open, FileAccess.ReadWrite);
            var bytes = new byte[16];
            file.Position = at;
            file.ReadExactly(bytes);
            for (var i = 0; i < bytes.Length; i++) bytes[i] ^= 0x5A;
            file.Position = at;
            file.Write(bytes);
        }
        else
        {
            await using var file = File.Open(logFile, FileMode.Open, FileAccess.ReadWrite);
            file.SetLength(at);
        }

        await s.ReopenAsync();
        var damaged = s.Store.OpenedWith.Damaged;
        Assert.NotNull(damaged);
        var kept = s.Store.AppendedRecords;
        Assert.InRange(kept, 100, 198);
        for (var i = 0; i < kept; i++)
        {
            Assert.True(s.Store.TryGetLatest(At("p", "k" + i), out var value), $"k{i} should have survived");
            Assert.Equal(i.ToString(), Text(value.Json));
            Assert.Single(await s.Store.GetHistoryAsync(At("p", "k" + i), HistoryQuery.All));
        }
        for (var i = (int)kept; i < 200; i++)
            Assert.False(s.Store.TryGetLatest(At("p", "k" + i), out _), $"k{i} was in the damaged suffix");

        // New writes after the damage, then two more reopens: nothing lost, nothing resurrected.
        var after = await s.Store.PutAsync(At("p", "after"), Json("1"), "u");
        Assert.Equal(kept + 1, s.Store.AppendedRecords);
        Assert.Equal(kept + 1, after.PartitionSequence);
        await s.Store.FlushAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            var events = new List<string>();
            await foreach (var e in s.Store.ReadChangesAsync(new ChangeFilter("b1"), FeedCursor.Beginning(), timeout.Token))
            {
                events.Add(e.Key);
                if (e.Key == "after") break;
            }
            Assert.Equal(Enumerable.Range(0, (int)kept).Select(i => "k" + i).Append("after"), events);
        }
        void AssertTheSurvivorsAndTheLaterWrite()
        {
            Assert.Null(s.Store.OpenedWith.Damaged);
            Assert.Equal(kept + 1, s.Store.AppendedRecords);
            Assert.True(s.Store.TryGetLatest(At("p", "after"), out _));
            Assert.False(s.Store.TryGetLatest(At("p", "k199"), out _));
            Assert.Equal((int)kept + 1, s.Store.ListKeys("b1", "data", "p").Count);
        }
        for (var round = 0; round < 2; round++)
        {
            await s.ReopenAsync();
            AssertTheSurvivorsAndTheLaterWrite();
        }

        // Every checkpoint lost: the whole log is replayed, and it still jumps over the old damage rather than
        // stopping there and losing the write made after it.
        await s.Store.DisposeAsync();
        Directory.Delete(Path.Combine(s.Directory, "checkpoints"), recursive: true);
        await s.ReopenAsync();
        AssertTheSurvivorsAndTheLaterWrite();
    }

    [Fact]
    public async Task A_damaged_checkpoint_file_is_ignored_in_favour_of_the_log()
    {
        await using var s = ScratchStore.Open();
        for (var i = 0; i < 50; i++)
            await s.Store.PutAsync(At("p", "k" + i), Json(i.ToString()), "u");
        await s.Store.DisposeAsync();
        foreach (var checkpoint in Directory.GetFiles(Path.Combine(s.Directory, "checkpoints"), "*.ckpt"))
        {
            var bytes = await File.ReadAllBytesAsync(checkpoint);
            bytes[bytes.Length / 2] ^= 0xFF;
            await File.WriteAllBytesAsync(checkpoint, bytes);
        }
        await s.ReopenAsync();
        Assert.Equal(50, s.Store.OpenedWith.ReplayedRecords);
        Assert.Equal(50, s.Store.ListKeys("b1", "data", "p").Count);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // A checkpoint being written (.tmp) or pruned right now is what a crash could leave too: skip it.
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            try { File.Copy(file, target); }
            catch (FileNotFoundException) { }
        }
    }
}

[Trait("Category", "Unit")]
public class FuzzyCheckpointTests
{
    private sealed record Observed(string Where, string Value, long Version, SecondaryKeys Keys);

    private static List<Observed> Observe(Kv4Store store)
    {
        var seen = new List<Observed>();
        foreach (var bucket in new[] { "b0", "b1", "b2" })
        foreach (var layer in new[] { "data", "ns" })
        foreach (var path in store.ListPaths(bucket, layer, ""))
        foreach (var key in store.ListKeys(bucket, layer, path))
        {
            var address = new EntryAddress(bucket, layer, path, key);
            Assert.True(store.TryGetLatest(address, out var value));
            Assert.True(store.TryGetSecondaryKeys(address, out var keys));
            seen.Add(new Observed(address.ToString(), Text(value.Json), value.Version.Value, keys));
        }
        return seen;
    }

    [Fact]
    public async Task Checkpoints_taken_while_writers_run_recover_exactly_the_written_state()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, CheckpointEveryRecords = 400 });
        async Task Write(int seed, int count)
        {
            var random = new Random(seed);
            for (var i = 0; i < count; i++)
            {
                var address = new EntryAddress("b" + random.Next(3), random.Next(4) == 0 ? "ns" : "data", "p/" + random.Next(6), "k" + random.Next(15));
                try
                {
                    switch (random.Next(20))
                    {
                        case < 13:
                            await s.Store.PutAsync(address, Json(i.ToString()), "w" + seed);
                            break;
                        case < 16:
                            await s.Store.PutAsync(address, Json(i.ToString()), "w" + seed, secondaryKeys: new SecondaryKeys(K2: "m" + random.Next(10)));
                            break;
                        case < 19:
                            await s.Store.DeleteAsync(address, "w" + seed);
                            break;
                        default:
                            if (random.Next(10) == 0) await s.Store.DeleteBucketAsync(address.Bucket, "w" + seed);
                            else await s.Store.DeleteTreeAsync(address.Bucket, address.Layer, "p", "w" + seed);
                            break;
                    }
                }
                catch (Kv4.Engine.Rules.EngineException e) when (e.Error == Kv4.Engine.Rules.EngineError.SecondaryKeyTaken)
                {
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(1, 4).Select(seed => Task.Run(() => Write(seed, 1200))));
        var writers = Task.WhenAll(Enumerable.Range(11, 4).Select(seed => Task.Run(() => Write(seed, 1300))));
        // Besides the background ones (every 400 records), checkpoints back to back while the second writers run.
        do await s.Store.CheckpointAsync();
        while (!writers.IsCompleted);
        await writers;
        for (var i = 0; i < 300; i++)
            await s.Store.PutAsync(new EntryAddress("b1", "data", "tail", "k" + (i % 40)), Json(i.ToString()), "tail");
        await s.Store.FlushAsync();
        var expected = Observe(s.Store);
        Assert.NotEmpty(expected);

        // A crash image now (checkpoints taken mid-write plus the log), then a clean reopen.
        var copy = s.Directory + "-crash";
        foreach (var file in Directory.GetFiles(s.Directory, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            var target = Path.Combine(copy, Path.GetRelativePath(s.Directory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            try { File.Copy(file, target); }
            catch (FileNotFoundException) { }
        }
        try
        {
            await using (var crashed = Kv4Store.Open(new StoreOptions { DataDirectory = copy }))
            {
                Assert.True(crashed.OpenedWith.ReplayedRecords < s.Store.AppendedRecords, "a checkpoint should have been used");
                Assert.Equal(s.Store.AppendedRecords, crashed.AppendedRecords);
                Assert.Equal(expected, Observe(crashed));
            }
            await s.ReopenAsync();
            Assert.Equal(expected, Observe(s.Store));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }
}
