using System.Text;
using Kv4.Engine;
using Kv4.Engine.Lanes;
using Kv4.Engine.Model;
using Kv4.Engine.Replication;
using Kv4.Engine.Rules;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Compaction of replicated stores, and the rebase of a replica behind a compacted primary (Kv4Store.Rebase.cs), with
/// stores in one process driven as a cluster node drives them: the replica that rebases holds exactly what the primary
/// retained (latest values, histories, where each history ends, no key the primary forgot), after a reopen too, goes
/// on taking records, and can rebase another replica in turn.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RebaseTests
{
    private const int Partitions = 4;
    private const long Start = 1_700_000_000_000;

    private static StoreOptions Options(string directory, ManualClock clock) => new()
    {
        DataDirectory = directory, LogSegmentSizeMB = 16, Clock = clock, Retention = CompactionTests.Policy(), CheckpointEveryRecords = 1000,
        PartitionCount = Partitions, Replicated = true, Durability = DurabilityMode.Interval,
    };

    private static byte[] Big(int i, int version) => Encoding.UTF8.GetBytes($"{{\"i\":{i},\"v\":{version},\"pad\":\"{new string('x', 250_000)}\"}}");

    private static byte[] Small(string text) => Encoding.UTF8.GetBytes($"\"{text}\"");

    private static EntryAddress Data(int k) => new("b1", "data", "p", $"k{k}");

    private static EntryAddress Churn(int k) => new("b1", "churn", "big", $"c{k}");

    private static EntryAddress Zombie => new("b1", "churn", "gone", "z");

    private static Kv4Store Open(string directory, ManualClock clock, PartitionRole role, int epoch)
    {
        var store = Kv4Store.Open(Options(directory, clock));
        for (var p = 0; p < Partitions; p++) store.Replication!.Configure(p, role, epoch);
        return store;
    }

    /// <summary>What a primary's stream does for a backup (PartitionLeader): sync, rebase when it must, then the records after.</summary>
    private static async Task<int> CatchUpAsync(Kv4Store primary, Kv4Store backup)
    {
        var (from, to) = (primary.Replication!, backup.Replication!);
        var rebased = 0;
        for (var p = 0; p < Partitions; p++)
        {
            var (ps, bs) = (from.State(p), to.State(p));
            var common = StoreReplication.CommonSequence(bs.Epochs, bs.Sequence, ps.Epochs, ps.Sequence);
            if (bs.Sequence > common) await to.TruncateAsync(p, common);
            var after = to.Sequence(p);
            if (after < from.HistoryStart(p))
            {
                rebased++;
                await to.ResetAsync(p);
                await using (await from.HoldCompactionAsync(CancellationToken.None))
                {
                    long read = 0;
                    RetainedPage page;
                    do
                    {
                        page = await from.ReadRetainedAsync(p, read, maxRecords: 3);
                        foreach (var record in page.Records) to.ApplyRetained(record);
                        read = page.Last;
                    }
                    while (read < page.UpTo);
                    after = await to.RebaseAsync(p, page.UpTo, page.Epochs);
                }
            }
            long resume = 0;
            while (true)
            {
                var (records, next) = await from.ReadRecordsAsync(p, after, resume);
                if (records.Records.Count == 0) break;
                foreach (var record in records.Records) to.Apply(record);
                after = records.LastSequence;
                resume = next;
            }
            await to.AfterApplyAsync();
            to.Acknowledge(p, after);
        }
        return rebased;
    }

    private static void AcknowledgeAll(Kv4Store primary)
    {
        for (var p = 0; p < Partitions; p++) primary.Replication!.Acknowledge(p, primary.Replication.Sequence(p));
    }

    private static async Task ChurnAsync(Kv4Store store, ManualClock clock, int megabytes, int from)
    {
        for (var n = from; n < from + megabytes * 4; n++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await store.PutAsync(Churn(n % 4), Big(n % 4, n), "t");
        }
        AcknowledgeAll(store);
    }

    /// <summary>Every key the test wrote, as a reader of <paramref name="store"/> (a primary) sees it: latest, history, and where it ends.</summary>
    private static async Task<List<string>> DescribeAsync(Kv4Store store)
    {
        var lines = new List<string>();
        foreach (var address in Enumerable.Range(0, 20).Select(Data).Concat(Enumerable.Range(0, 4).Select(Churn)).Append(Zombie))
        {
            var latest = store.TryGetLatest(address, out var value) ? $"{value.Version.Value}:{Encoding.UTF8.GetString(value.Json.Span)[..Math.Min(20, value.Json.Length)]}" : "none";
            var history = await store.GetHistoryAsync(address, HistoryQuery.All);
            var versions = string.Join(",", history.Select(h => $"{h.Version.Value}@{h.TimestampMs}"));
            string ends;
            try
            {
                ends = await store.GetAtAsync(address, Start - 1) is null ? "begins" : "?";
            }
            catch (HistoryTruncatedException)
            {
                ends = "truncated";
            }
            lines.Add($"{address.Layer}/{address.Path}/{address.Key} latest {latest} history [{versions}] {ends}");
        }
        return lines;
    }

    private static void Same(List<string> expected, List<string> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public async Task A_replica_behind_a_compacted_primary_rebases_on_its_retained_versions_and_holds_what_it_holds()
    {
        using var primaryDirectory = new TempDirectory("rebase-p");
        using var backupDirectory = new TempDirectory("rebase-b");
        using var thirdDirectory = new TempDirectory("rebase-c");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        var primary = Open(primaryDirectory.Path, clock, PartitionRole.Primary, 1);
        var backup = Open(backupDirectory.Path, clock, PartitionRole.Backup, 0);
        Kv4Store? third = null;
        try
        {
            // The backup takes the first versions, among them a key the primary will forget entirely, then falls behind.
            for (var v = 1; v <= 3; v++)
                for (var k = 0; k < 20; k++)
                {
                    clock.Advance(TimeSpan.FromMilliseconds(1));
                    await primary.PutAsync(Data(k), Small($"v{v}"), "t", secondaryKeys: new SecondaryKeys($"s{k}-{v}", null, null));
                }
            await primary.PutAsync(Zombie, Small("alive"), "t");
            AcknowledgeAll(primary);
            Assert.Equal(0, await CatchUpAsync(primary, backup));

            await primary.DeleteAsync(Zombie, "t");
            await primary.DeleteAsync(Data(0), "t");
            await ChurnAsync(primary, clock, 40, 0);
            await primary.FlushAsync();
            Assert.Null((await primary.CompactAsync()).Skipped);
            // A second pass: the zombie's tombstone, its older version gone, goes too; the key leaves the primary.
            await ChurnAsync(primary, clock, 40, 1000);
            for (var k = 10; k < 20; k++) await primary.PutAsync(Data(k), Small("v4"), "t");
            AcknowledgeAll(primary);
            await primary.FlushAsync();
            Assert.Null((await primary.CompactAsync()).Skipped);
            Assert.False(primary.TryGetLatest(Zombie, out _));
            Assert.Empty(await primary.GetHistoryAsync(Zombie, HistoryQuery.All));
            Assert.Contains(Enumerable.Range(0, Partitions), p => primary.Replication!.HistoryStart(p) > 0);
            // A backup behind the history start cannot read records there: it must rebase.
            var behind = Enumerable.Range(0, Partitions).First(p => primary.Replication!.HistoryStart(p) > backup.Replication!.Sequence(p));
            var refused = await Assert.ThrowsAsync<EngineException>(async () => await primary.Replication!.ReadRecordsAsync(behind, backup.Replication!.Sequence(behind)));
            Assert.Equal(EngineError.HistoryTruncated, refused.Error);

            Assert.True(await CatchUpAsync(primary, backup) > 0);
            var expected = await DescribeAsync(primary);
            Assert.Contains(expected, l => l.Contains("truncated", StringComparison.Ordinal));

            // Promoted (as a failover would), the rebased copy answers as the primary did; so after a reopen.
            for (var p = 0; p < Partitions; p++) backup.Replication!.Configure(p, PartitionRole.Primary, 2);
            Same(expected, await DescribeAsync(backup));
            Assert.True(backup.TryGetBySecondaryKey("b1", "data", "p", SecondaryKeySlot.K2, "s5-3", out var owner, out _));
            Assert.Equal("k5", owner);
            await backup.DisposeAsync();
            backup = Open(backupDirectory.Path, clock, PartitionRole.Primary, 2);
            Same(expected, await DescribeAsync(backup));
            Assert.Null(backup.OpenedWith.Damaged);

            // A feed reader from the beginning has lost events to the rebase, and is told where to resume.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var lost = await Assert.ThrowsAsync<FeedTruncatedException>(async () =>
            {
                await foreach (var _ in backup.ReadChangesAsync(new ChangeFilter("b1"), FeedCursor.Beginning(Partitions), timeout.Token)) { }
            });
            Assert.NotNull(lost.ResumeFrom);

            // It leads now: new writes go on after the history it took, and a third replica rebases on it in turn.
            await backup.PutAsync(Data(1), Small("v5"), "t");
            AcknowledgeAll(backup);
            third = Open(thirdDirectory.Path, clock, PartitionRole.Backup, 0);
            Assert.True(await CatchUpAsync(backup, third) > 0);
            var leading = await DescribeAsync(backup);
            for (var p = 0; p < Partitions; p++) third.Replication!.Configure(p, PartitionRole.Primary, 3);
            Same(leading, await DescribeAsync(third));
            Assert.Contains(leading, l => l.StartsWith("data/p/k1 ", StringComparison.Ordinal) && l.Contains("\"v5\"", StringComparison.Ordinal));
        }
        finally
        {
            await primary.DisposeAsync();
            await backup.DisposeAsync();
            if (third is not null) await third.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_rebase_cut_short_by_a_restart_starts_again_from_a_reset_and_ends_as_one_that_was_not()
    {
        using var primaryDirectory = new TempDirectory("rebase-p");
        using var backupDirectory = new TempDirectory("rebase-b");
        using var cleanDirectory = new TempDirectory("rebase-c");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        var primary = Open(primaryDirectory.Path, clock, PartitionRole.Primary, 1);
        var backup = Open(backupDirectory.Path, clock, PartitionRole.Backup, 0);
        var clean = Open(cleanDirectory.Path, clock, PartitionRole.Backup, 0);
        try
        {
            for (var v = 1; v <= 3; v++)
                for (var k = 0; k < 20; k++)
                    await primary.PutAsync(Data(k), Small($"v{v}"), "t");
            await ChurnAsync(primary, clock, 40, 0);
            await primary.FlushAsync();
            Assert.Null((await primary.CompactAsync()).Skipped);
            var p = -1;
            for (var q = 0; q < Partitions && p < 0; q++)
                if ((await primary.Replication!.ReadRetainedAsync(q, 0)).Records.Count > 2) p = q;
            Assert.True(p >= 0, "no partition has more than two retained versions");

            // Half a rebase: the reset, a few retained versions, no marker; then the node stops.
            await backup.Replication!.ResetAsync(p);
            var page = await primary.Replication!.ReadRetainedAsync(p, 0, maxRecords: 2);
            Assert.True(page.Last < page.UpTo, "a rebase cut short");
            foreach (var record in page.Records) backup.Replication.ApplyRetained(record);
            await backup.DisposeAsync();
            backup = Open(backupDirectory.Path, clock, PartitionRole.Backup, 0);
            Assert.Null(backup.OpenedWith.Damaged);
            Assert.Equal(0, backup.Replication!.Sequence(p));

            // Back: it syncs at 0, is behind the history start, and rebases from a reset again.
            Assert.True(await CatchUpAsync(primary, backup) > 0);
            Assert.True(await CatchUpAsync(primary, clean) > 0);
            for (var q = 0; q < Partitions; q++)
            {
                backup.Replication.Configure(q, PartitionRole.Primary, 2);
                clean.Replication!.Configure(q, PartitionRole.Primary, 2);
            }
            Same(await DescribeAsync(clean), await DescribeAsync(backup));
            await backup.DisposeAsync();
            backup = Open(backupDirectory.Path, clock, PartitionRole.Primary, 2);
            Same(await DescribeAsync(clean), await DescribeAsync(backup));
        }
        finally
        {
            await primary.DisposeAsync();
            await backup.DisposeAsync();
            await clean.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_backup_compacts_its_own_copy_by_the_same_rules_and_keeps_versions_not_yet_acknowledged()
    {
        using var primaryDirectory = new TempDirectory("rebase-p");
        using var backupDirectory = new TempDirectory("rebase-b");
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(Start));
        var primary = Open(primaryDirectory.Path, clock, PartitionRole.Primary, 1);
        var backup = Open(backupDirectory.Path, clock, PartitionRole.Backup, 0);
        try
        {
            for (var v = 1; v <= 3; v++)
                for (var k = 0; k < 20; k++)
                    await primary.PutAsync(Data(k), Small($"v{v}"), "t");
            AcknowledgeAll(primary);
            await CatchUpAsync(primary, backup);
            await ChurnAsync(primary, clock, 40, 0);
            await CatchUpAsync(primary, backup);
            // Acknowledged everywhere but this one version, which the backup holds and the primary has not acknowledged.
            var pending = await primary.PutAsync(Data(7), Small("v4"), "t");
            var shipped = await primary.Replication!.ReadRecordsAsync(pending.Partition, pending.PartitionSequence - 1);
            backup.Replication!.Apply(shipped.Records.Records.Single());
            await backup.FlushAsync();

            var result = await backup.CompactAsync();
            Assert.Null(result.Skipped);
            Assert.True(result.ReclaimedBytes >= 16 << 20, $"reclaimed {result.ReclaimedBytes}");

            // The primary never acknowledges v4: the backup voids it and v3 is its latest, with v2 before it (two retained).
            await backup.Replication.TruncateAsync(pending.Partition, pending.PartitionSequence - 1);
            for (var p = 0; p < Partitions; p++) backup.Replication.Configure(p, PartitionRole.Primary, 2);
            Assert.True(backup.TryGetLatest(Data(7), out var latest));
            Assert.Equal("\"v3\"", Encoding.UTF8.GetString(latest.Json.Span));
            Assert.Equal(["\"v3\"", "\"v2\""],
                (await backup.GetHistoryAsync(Data(7), HistoryQuery.All)).Select(h => Encoding.UTF8.GetString(h.Value!.Value.Span)));
            Assert.Equal(["\"v3\"", "\"v2\""],
                (await backup.GetHistoryAsync(Data(8), HistoryQuery.All)).Select(h => Encoding.UTF8.GetString(h.Value!.Value.Span)));
            await backup.DisposeAsync();
            backup = Open(backupDirectory.Path, clock, PartitionRole.Primary, 2);
            Assert.True(backup.TryGetLatest(Data(7), out latest));
            Assert.Equal("\"v3\"", Encoding.UTF8.GetString(latest.Json.Span));
        }
        finally
        {
            await primary.DisposeAsync();
            await backup.DisposeAsync();
        }
    }
}
