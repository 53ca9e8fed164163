using System.Text;
using Kv4.Engine;
using Kv4.Engine.Backups;
using Kv4.Engine.Model;
using Kv4.Engine.Retention;
using Kv4.Engine.Rules;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Compaction on one node (<see cref="Kv4Store.CompactAsync"/>): the log's head segments go, what retention keeps stays
/// readable (latest, history, as of an instant, secondary keys, after a reopen), and readers from before the horizon are
/// told so (feed_truncated with a cursor to resume from; a read as of an instant before the oldest retained version).
/// </summary>
[Trait("Category", "Integration")]
public sealed class CompactionTests
{
    private const long Start = 1_700_000_000_000;

    /// <summary>data keeps the last 2 versions; churn only the latest; everything else everything.</summary>
    internal static RetentionPolicy Policy() => RetentionPolicy.Create(RetentionRule.KeepEverything,
        [new LayerRetention("data", new RetentionRule(2, null), []), new LayerRetention("churn", new RetentionRule(1, null), [])], out _)!;

    private static StoreOptions Options(string directory, ManualClock clock) => new()
    {
        DataDirectory = directory, LogSegmentSizeMB = 16, Clock = clock, Retention = Policy(), CheckpointEveryRecords = 1000,
    };

    private static byte[] Big(int i, int version) => Encoding.UTF8.GetBytes($"{{\"i\":{i},\"v\":{version},\"pad\":\"{new string('x', 250_000)}\"}}");

    private static byte[] Small(string text) => Encoding.UTF8.GetBytes($"\"{text}\"");

    private static long LogFileBytes(string directory) =>
        Directory.EnumerateFiles(Path.Combine(directory, "log"), "kv4.log.*").Sum(f => new FileInfo(f).Length);

    private static int SegmentFiles(string directory) => Directory.EnumerateFiles(Path.Combine(directory, "log"), "kv4.log.*").Count(f => !f.EndsWith(".commit", StringComparison.Ordinal));

    /// <summary>Overwrites a few big churn keys until the log holds about <paramref name="megabytes"/> MiB more.</summary>
    private static async Task ChurnAsync(Kv4Store store, ManualClock clock, int megabytes)
    {
        for (var n = 0; n < megabytes * 4; n++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await store.PutAsync(new EntryAddress("b1", "churn", "big", $"c{n % 4}"), Big(n % 4, n), "t");
        }
    }

    [Fact]
    public async Task Compaction_deletes_head_segments_and_keeps_every_retained_version()
    {
        using var directory = new TempDirectory("compact");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        var store = Kv4Store.Open(Options(directory.Path, clock));
        try
        {
            // Early versions of small keys, then 48 MiB of churn, then one more version of some of them.
            for (var v = 1; v <= 3; v++)
                for (var k = 0; k < 20; k++)
                {
                    clock.Advance(TimeSpan.FromMilliseconds(1));
                    await store.PutAsync(new EntryAddress("b1", "data", "p", $"k{k}"), Small($"v{v}"), "t",
                        secondaryKeys: new SecondaryKeys($"s{k}-{v}", null, null));
                    await store.PutAsync(new EntryAddress("b1", "keep", "p", $"k{k}"), Small($"v{v}"), "t");
                }
            await store.DeleteAsync(new EntryAddress("b1", "data", "p", "k0"), "t");
            await ChurnAsync(store, clock, 48);
            for (var k = 10; k < 20; k++) await store.PutAsync(new EntryAddress("b1", "data", "p", $"k{k}"), Small("v4"), "t");
            await store.FlushAsync();
            var filesBefore = SegmentFiles(directory.Path);
            var bytesBefore = LogFileBytes(directory.Path);

            var result = await store.CompactAsync();

            Assert.Null(result.Skipped);
            Assert.True(result.ReclaimedBytes >= 31 << 20, $"reclaimed {result.ReclaimedBytes}");
            Assert.True(SegmentFiles(directory.Path) < filesBefore, $"{SegmentFiles(directory.Path)} segment files, {filesBefore} before");
            Assert.True(LogFileBytes(directory.Path) < bytesBefore - (16L << 20), $"{LogFileBytes(directory.Path)} bytes, {bytesBefore} before");
            await CheckAsync(store);

            await store.DisposeAsync();
            store = Kv4Store.Open(Options(directory.Path, clock));
            await CheckAsync(store);

            // A second round over the carries of the first.
            await ChurnAsync(store, clock, 40);
            Assert.Null((await store.CompactAsync()).Skipped);
            await CheckAsync(store);
            await store.DisposeAsync();
            store = Kv4Store.Open(Options(directory.Path, clock));
            await CheckAsync(store);
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_backup_of_a_compacted_store_restores_what_was_retained_and_where_its_history_ends()
    {
        using var directory = new TempDirectory("compact-backup");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        await using var store = Kv4Store.Open(Options(directory.Path, clock));
        for (var v = 1; v <= 3; v++)
            for (var k = 0; k < 20; k++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
                await store.PutAsync(new EntryAddress("b1", "data", "p", $"k{k}"), Small($"v{v}"), "t");
                await store.PutAsync(new EntryAddress("b1", "keep", "p", $"k{k}"), Small($"v{v}"), "t");
            }
        await store.DeleteAsync(new EntryAddress("b1", "data", "p", "k0"), "t");
        var early = store.CurrentCursor();
        await ChurnAsync(store, clock, 48);
        // Versions above the coming horizon whose older versions are carried (appended after them) by the compaction.
        for (var k = 10; k < 20; k++) await store.PutAsync(new EntryAddress("b1", "data", "p", $"k{k}"), Small("v4"), "t");
        Assert.Null((await store.CompactAsync()).Skipped);
        await ChurnAsync(store, clock, 40);
        Assert.Null((await store.CompactAsync()).Skipped);
        for (var k = 0; k < 5; k++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await store.PutAsync(new EntryAddress("b1", "data", "p", $"k{k}"), Small("v5"), "t");
        }

        var feedResume = (await Assert.ThrowsAsync<FeedTruncatedException>(async () =>
        {
            await foreach (var _ in store.ReadChangesAsync(new ChangeFilter("b1", null, ""), early.Clone())) { }
        })).ResumeFrom.ToString();

        // Twice: the copy of a copy, whose history ends where the first copy's did, must be the same again.
        var source = store;
        using var target = new TempDirectory("compact-restore");
        var copies = new List<Kv4Store>();
        try
        {
            for (var round = 1; round <= 2; round++)
            {
                var backup = new MemoryStream();
                var summary = await source.WriteBackupAsync(backup);
                backup.Position = 0;
                var restoredDir = Path.Combine(target.Path, $"data{round}");
                await StoreRestore.RestoreAsync(backup, Options(restoredDir, clock));
                var copy = Kv4Store.Open(Options(restoredDir, clock));
                Assert.Equal(summary.Cursor, copy.CurrentCursor().ToString());
                foreach (var layer in (string[])["data", "keep"])
                    for (var k = 0; k < 20; k++)
                    {
                        var address = new EntryAddress("b1", layer, "p", $"k{k}");
                        var expected = (await store.GetHistoryAsync(address, HistoryQuery.All)).Select(BackupTests.Describe).ToList();
                        Assert.Equal(expected, (await copy.GetHistoryAsync(address, HistoryQuery.All)).Select(BackupTests.Describe).ToList());
                        Assert.Equal(store.TryGetLatest(address, out var was), copy.TryGetLatest(address, out var now));
                        Assert.Equal(Encoding.UTF8.GetString(was.Json.Span), Encoding.UTF8.GetString(now.Json.Span));
                    }
                for (var c = 0; c < 4; c++)
                {
                    var address = new EntryAddress("b1", "churn", "big", $"c{c}");
                    Assert.Equal((await store.GetHistoryAsync(address, HistoryQuery.All)).Select(BackupTests.Describe),
                        (await copy.GetHistoryAsync(address, HistoryQuery.All)).Select(BackupTests.Describe));
                }
                // A read before the oldest retained version, and a feed from before the horizon, are refused as at the source.
                await Assert.ThrowsAsync<HistoryTruncatedException>(async () => await copy.GetAtAsync(new EntryAddress("b1", "data", "p", "k1"), Start));
                Assert.Equal(feedResume, (await Assert.ThrowsAsync<FeedTruncatedException>(async () =>
                {
                    await foreach (var _ in copy.ReadChangesAsync(new ChangeFilter("b1", null, ""), early.Clone())) { }
                })).ResumeFrom.ToString());
                copies.Add(copy);
                source = copy;
            }

            // The copy goes on: the next version of a key follows its retained history, as the next of its partition.
            var k1 = new EntryAddress("b1", "data", "p", "k1");
            var cut = source.CurrentCursor();
            var next = await source.PutAsync(k1, Small("v6"), "t");
            Assert.Equal(new VersionId(cut[next.Partition]).PartitionSequence + 1, next.PartitionSequence);
            Assert.Equal(["\"v6\"", "\"v5\"", "\"v3\"", "\"v2\""],
                (await source.GetHistoryAsync(k1, HistoryQuery.All)).Select(h => Encoding.UTF8.GetString(h.Value!.Value.Span)));
        }
        finally
        {
            foreach (var copy in copies) await copy.DisposeAsync();
        }
    }

    private static async Task CheckAsync(Kv4Store store)
    {
        for (var k = 0; k < 20; k++)
        {
            var data = new EntryAddress("b1", "data", "p", $"k{k}");
            var history = (await store.GetHistoryAsync(data, HistoryQuery.All)).Select(h => h.Value is { } v ? Encoding.UTF8.GetString(v.Span) : "-").ToList();
            if (k == 0)
            {
                // Deleted: the tombstone and the version before it are the two retained.
                Assert.False(store.TryGetLatest(data, out _));
                Assert.Equal(["-", "\"v3\""], history);
            }
            else
            {
                var newest = k >= 10 ? 4 : 3;
                Assert.True(store.TryGetLatest(data, out var latest));
                Assert.Equal($"\"v{newest}\"", Encoding.UTF8.GetString(latest.Json.Span));
                Assert.Equal([$"\"v{newest}\"", $"\"v{newest - 1}\""], history);
                if (k < 10)
                {
                    Assert.True(store.TryGetBySecondaryKey("b1", "data", "p", SecondaryKeySlot.K2, $"s{k}-3", out var owner, out _));
                    Assert.Equal($"k{k}", owner);
                }
            }
            var keep = new EntryAddress("b1", "keep", "p", $"k{k}");
            var kept = (await store.GetHistoryAsync(keep, HistoryQuery.All)).Select(h => Encoding.UTF8.GetString(h.Value!.Value.Span)).ToList();
            Assert.Equal(["\"v3\"", "\"v2\"", "\"v1\""], kept);
            // The first version, as of its own instant: a keep-everything layer loses nothing.
            var first = (await store.GetHistoryAsync(keep, HistoryQuery.All))[^1];
            Assert.Equal("\"v1\"", Encoding.UTF8.GetString((await store.GetAtAsync(keep, first.TimestampMs))!.Value.Json.Span));
        }
        var path = await store.GetPathHistoryAsync("b1", "keep", "p", HistoryQuery.All);
        Assert.Equal(60, path.Count);
        Assert.True(path.Zip(path.Skip(1)).All(pair => pair.First.Version.Value > pair.Second.Version.Value), "a path's history is newest first");
    }

    [Fact]
    public async Task A_read_as_of_an_instant_before_the_oldest_retained_version_names_the_horizon()
    {
        using var directory = new TempDirectory("compact");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        await using var store = Kv4Store.Open(Options(directory.Path, clock));
        var address = new EntryAddress("b1", "data", "p", "k");
        for (var v = 1; v <= 4; v++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await store.PutAsync(address, Small($"v{v}"), "t");
        }
        await ChurnAsync(store, clock, 40);
        Assert.Null((await store.CompactAsync()).Skipped);

        var history = await store.GetHistoryAsync(address, HistoryQuery.All);
        Assert.Equal(2, history.Count);
        Assert.Equal("\"v3\"", Encoding.UTF8.GetString((await store.GetAtAsync(address, Start + 3000))!.Value.Json.Span));
        var refused = await Assert.ThrowsAsync<HistoryTruncatedException>(async () => await store.GetAtAsync(address, Start + 2500));
        Assert.Equal(Start + 3000, refused.OldestRetainedMs);
        Assert.Equal(EngineError.HistoryTruncated, refused.Error);
    }

    [Fact]
    public async Task A_key_written_again_after_compaction_forgot_it_entirely_does_not_claim_it_was_absent_before()
    {
        using var directory = new TempDirectory("compact");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        await using var store = Kv4Store.Open(Options(directory.Path, clock));
        var forgotten = new EntryAddress("b1", "churn", "small", "x");
        var kept = new EntryAddress("b1", "keep", "small", "y");
        await store.PutAsync(forgotten, Small("first"), "t");
        clock.Advance(TimeSpan.FromSeconds(1));
        await store.DeleteAsync(forgotten, "t");
        // Two passes: the first keeps the delete (its older version goes), the second takes the delete too.
        await ChurnAsync(store, clock, 40);
        Assert.Null((await store.CompactAsync()).Skipped);
        await ChurnAsync(store, clock, 40);
        Assert.Null((await store.CompactAsync()).Skipped);
        Assert.Empty(await store.GetHistoryAsync(forgotten, HistoryQuery.All));

        clock.Advance(TimeSpan.FromSeconds(1));
        await store.PutAsync(forgotten, Small("again"), "t");
        await store.PutAsync(kept, Small("new"), "t");
        // It held "first" at Start: compaction reclaimed that, so the read is refused rather than answered "absent".
        var refused = await Assert.ThrowsAsync<HistoryTruncatedException>(async () => await store.GetAtAsync(forgotten, Start));
        Assert.Equal(clock.NowMs, refused.OldestRetainedMs);
        // A layer that keeps everything lost nothing: before its key's first version, it was absent.
        Assert.Null(await store.GetAtAsync(kept, Start));
    }

    [Fact]
    public async Task A_feed_from_before_the_horizon_is_refused_with_a_cursor_to_resume_from()
    {
        using var directory = new TempDirectory("compact");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        await using var store = Kv4Store.Open(Options(directory.Path, clock));
        await store.PutAsync(new EntryAddress("b1", "data", "p", "early"), Small("1"), "t");
        var early = store.CurrentCursor();
        await ChurnAsync(store, clock, 40);
        var afterChurn = store.CurrentCursor();
        await store.PutAsync(new EntryAddress("b1", "data", "p", "late"), Small("2"), "t");
        Assert.Null((await store.CompactAsync()).Skipped);

        var refused = await Assert.ThrowsAsync<FeedTruncatedException>(async () =>
        {
            await foreach (var _ in store.ReadChangesAsync(new ChangeFilter("b1", null, ""), early.Clone())) { }
        });
        Assert.Equal(EngineError.FeedTruncated, refused.Error);

        // From the cursor it names: no error, and the events after the horizon, in order (the late write among them).
        using var stop = new CancellationTokenSource();
        var seen = new List<string>();
        await foreach (var change in store.ReadChangesAsync(new ChangeFilter("b1", "data", ""), refused.ResumeFrom, stop.Token))
        {
            seen.Add(change.Key);
            if (change.Key == "late") break;
        }
        Assert.Equal(["late"], seen);

        // A reader that was past the horizon already is not refused.
        await foreach (var change in store.ReadChangesAsync(new ChangeFilter("b1", "data", ""), afterChurn.Clone()))
        {
            Assert.Equal("late", change.Key);
            break;
        }
    }
}
