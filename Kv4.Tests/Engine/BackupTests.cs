using System.Text;
using Kv4.Engine;
using Kv4.Engine.Backups;
using Kv4.Engine.Model;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Online backups of a single store and their restore: the restored store is the source as it was at the backup's
/// cursor (every version of every key, deletes and bucket drops included, nothing written after the cut), and a
/// backup that is not whole — cut short, a byte changed, for another store — is refused with nothing restored.
/// </summary>
public class BackupTests
{
    private static readonly string[] Buckets = ["b1", "b2"];
    private static readonly string[] Paths = ["", "rooms/a", "rooms/b", "logs"];
    private static readonly string[] Keys = ["k1", "k2", "k3", "k4", "k5"];

    private sealed record Written(EntryAddress Address, WriteResult Result);

    [Fact]
    public async Task A_backup_taken_while_writes_go_on_restores_exactly_the_state_at_its_cursor()
    {
        await using var source = ScratchStore.Open();
        var written = new List<Written>();
        var random = new Random(7);
        using var stop = new CancellationTokenSource();
        var enough = new TaskCompletionSource();
        var writer = Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var address = new EntryAddress(Buckets[random.Next(Buckets.Length)], "data", Paths[random.Next(Paths.Length)], Keys[random.Next(Keys.Length)]);
                var result = random.Next(5) == 0
                    ? await source.Store.DeleteAsync(address, "writer")
                    : await source.Store.PutAsync(address, ScratchStore.Json($"{{\"n\":{n}}}"), "writer");
                if (!result.Applied) continue;
                lock (written) written.Add(new Written(address, result));
                if (n == 2000) enough.TrySetResult();
            }
        });
        await enough.Task;
        var backup = new MemoryStream();
        var summary = await source.Store.WriteBackupAsync(backup);
        // Writes go on after the cut; they must not be in the backup.
        await WaitForAsync(() => { lock (written) return written.Count > 4000; });
        await stop.CancelAsync();
        await writer;

        Assert.True(FeedCursor.TryParse(summary.Cursor, out var cut));
        List<Written> before, after;
        lock (written)
        {
            before = [.. written.Where(w => w.Result.PartitionSequence <= new VersionId(cut[w.Result.Partition]).PartitionSequence)];
            after = [.. written.Except(before)];
        }
        Assert.NotEmpty(after);
        Assert.Equal(before.Count, summary.Records);

        using var target = new TempDirectory("restore");
        var restoredDir = Path.Combine(target.Path, "data");
        backup.Position = 0;
        var restored = await StoreRestore.RestoreAsync(backup, new StoreOptions { DataDirectory = restoredDir });
        Assert.Equal(summary.Records, restored.Records);
        Assert.Equal(summary.Cursor, restored.Cursor);

        await using var copy = Kv4Store.Open(new StoreOptions { DataDirectory = restoredDir });
        Assert.Equal(summary.Cursor, copy.CurrentCursor().ToString());
        // Every version: the writes after the cut may give a key more than a default page of them.
        var everything = new HistoryQuery(Limit: int.MaxValue);
        foreach (var bucket in Buckets)
        foreach (var path in Paths)
        foreach (var key in Keys)
        {
            var address = new EntryAddress(bucket, "data", path, key);
            var expected = (await source.Store.GetHistoryAsync(address, everything))
                .Where(h => h.Version.PartitionSequence <= new VersionId(cut[h.Version.Partition]).PartitionSequence).Select(Describe).ToList();
            var actual = (await copy.GetHistoryAsync(address, everything)).Select(Describe).ToList();
            Assert.Equal(expected, actual);
            var latest = expected.FirstOrDefault();
            Assert.Equal(latest is not null && !latest.StartsWith("Delete", StringComparison.Ordinal), copy.TryGetLatest(address, out var value));
            if (latest is not null && value.Json.Length > 0) Assert.Contains(Encoding.UTF8.GetString(value.Json.Span), latest);
        }

        // The restored store goes on from where the backup stopped: the next version of a partition follows the cut.
        var next = await copy.PutAsync(new EntryAddress("b1", "data", "rooms/a", "k1"), ScratchStore.Json("1"), "after");
        Assert.Equal(new VersionId(cut[next.Partition]).PartitionSequence + 1, next.PartitionSequence);
    }

    [Fact]
    public async Task A_bucket_dropped_before_the_backup_stays_dropped_and_what_was_written_to_it_since_is_back()
    {
        await using var source = ScratchStore.Open();
        foreach (var path in Paths)
            await source.Store.PutAsync(new EntryAddress("gone", "data", path, "old"), ScratchStore.Json("1"), "a");
        await source.Store.PutAsync(new EntryAddress("kept", "data", "x", "k"), ScratchStore.Json("2"), "a");
        await source.Store.DeleteBucketAsync("gone", "admin");
        await source.Store.PutAsync(new EntryAddress("gone", "data", "rooms/a", "new"), ScratchStore.Json("3"), "a");

        using var target = new TempDirectory("restore-drop");
        var copy = await BackUpAndRestoreAsync(source.Store, Path.Combine(target.Path, "data"));
        await using (copy.Store)
        {
            foreach (var path in Paths) Assert.False(copy.Store.TryGetLatest(new EntryAddress("gone", "data", path, "old"), out _));
            Assert.True(copy.Store.TryGetLatest(new EntryAddress("gone", "data", "rooms/a", "new"), out var renewed));
            Assert.Equal("3", Encoding.UTF8.GetString(renewed.Json.Span));
            Assert.True(copy.Store.TryGetLatest(new EntryAddress("kept", "data", "x", "k"), out _));
            Assert.Equal(["gone", "kept"], copy.Store.ListBuckets());
        }
    }

    [Fact]
    public async Task A_backup_cut_short_or_changed_anywhere_is_refused_and_nothing_is_restored()
    {
        await using var source = ScratchStore.Open();
        for (var i = 0; i < 50; i++)
            await source.Store.PutAsync(new EntryAddress("b1", "data", "p", $"k{i % 7}"), ScratchStore.Json($"{{\"i\":{i}}}"), "a");
        var whole = new MemoryStream();
        await source.Store.WriteBackupAsync(whole);
        var bytes = whole.ToArray();

        using var target = new TempDirectory("restore-bad");
        var cases = new List<(string Name, byte[] Bytes)>();
        foreach (var length in new[] { 0, 5, 9, 20, bytes.Length / 2, bytes.Length - 5, bytes.Length - 1 })
            cases.Add(($"cut at {length}", bytes[..length]));
        foreach (var at in new[] { 3, 12, bytes.Length / 3, bytes.Length * 2 / 3, bytes.Length - 2 })
        {
            var changed = (byte[])bytes.Clone();
            changed[at] ^= 0x20;
            cases.Add(($"byte {at} changed", changed));
        }
        cases.Add(("a byte after the end", [.. bytes, 0]));
        foreach (var (name, damaged) in cases)
        {
            var dir = Path.Combine(target.Path, Guid.NewGuid().ToString("N"));
            var error = await Assert.ThrowsAsync<BackupException>(() => StoreRestore.RestoreAsync(new MemoryStream(damaged), new StoreOptions { DataDirectory = dir }));
            Assert.False(string.IsNullOrWhiteSpace(error.Message), name);
            Assert.False(Directory.Exists(dir), $"{name}: {dir} was created");
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(target.Path));

        // The whole one restores.
        var good = Path.Combine(target.Path, "good");
        await StoreRestore.RestoreAsync(new MemoryStream(bytes), new StoreOptions { DataDirectory = good });
        await using var copy = Kv4Store.Open(new StoreOptions { DataDirectory = good });
        Assert.Equal(7, copy.ListKeys("b1", "data", "p").Count);
    }

    [Fact]
    public async Task A_restore_into_a_directory_that_holds_anything_or_a_store_of_another_shape_is_refused_and_touches_nothing()
    {
        await using var source = ScratchStore.Open();
        await source.Store.PutAsync(new EntryAddress("b1", "data", "p", "k"), ScratchStore.Json("1"), "a");
        var backup = new MemoryStream();
        await source.Store.WriteBackupAsync(backup);

        using var target = new TempDirectory("restore-full");
        var marker = Path.Combine(target.Path, "something.txt");
        await File.WriteAllTextAsync(marker, "mine");
        backup.Position = 0;
        var error = await Assert.ThrowsAsync<BackupException>(() => StoreRestore.RestoreAsync(backup, new StoreOptions { DataDirectory = target.Path }));
        Assert.Contains("not empty", error.Message);
        Assert.Equal(["something.txt"], Directory.EnumerateFileSystemEntries(target.Path).Select(Path.GetFileName));
        Assert.Equal("mine", await File.ReadAllTextAsync(marker));

        backup.Position = 0;
        var other = Path.Combine(target.Path, "other");
        error = await Assert.ThrowsAsync<BackupException>(() => StoreRestore.RestoreAsync(backup, new StoreOptions { DataDirectory = other, PartitionCount = 16 }));
        Assert.Contains("64 partitions", error.Message);
        Assert.False(Directory.Exists(other));

        error = await Assert.ThrowsAsync<BackupException>(() => StoreRestore.RestoreAsync(new MemoryStream("{\"not\":\"a backup\"}"u8.ToArray()),
            new StoreOptions { DataDirectory = other }));
        Assert.Contains("not a Kv4 backup", error.Message);
    }

    private static async Task<(Kv4Store Store, BackupSummary Summary)> BackUpAndRestoreAsync(Kv4Store source, string dir)
    {
        var backup = new MemoryStream();
        await source.WriteBackupAsync(backup);
        backup.Position = 0;
        var summary = await StoreRestore.RestoreAsync(backup, new StoreOptions { DataDirectory = dir });
        return (Kv4Store.Open(new StoreOptions { DataDirectory = dir }), summary);
    }

    internal static string Describe(HistoryEntry h) =>
        $"{h.Op} {h.Key} {h.Version} {h.TimestampMs} {h.Actor} {(h.Value is { } v ? Encoding.UTF8.GetString(v.Span) : "-")}";

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!condition()) await Task.Delay(10, timeout.Token);
    }
}
