using System.Collections.Concurrent;
using Kv4.Engine;
using Kv4.Engine.Lanes;
using Kv4.Engine.Model;
using Kv4.Engine.Replication;
using Kv4.Engine.Rules;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

/// <summary>
/// The engine's side of replication, two replicated stores in one process: a primary whose appended records are
/// applied by a backup, what readers see before and after an acknowledgement, and a backup voiding what an old
/// primary never got acknowledged — live, after a reopen, and as the feed and a catch-up read see it.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ReplicationSeamTests : IAsyncDisposable
{
    private const int Partitions = 8;
    private readonly ScratchStore _primary = ScratchStore.Open(Replicated);
    private readonly ScratchStore _backup = ScratchStore.Open(Replicated);
    private readonly Recorder _shipped = new();

    private static StoreOptions Replicated(StoreOptions o) => new()
    {
        DataDirectory = o.DataDirectory,
        Clock = o.Clock,
        Durability = DurabilityMode.Sync,
        PartitionCount = Partitions,
        Replicated = true,
    };

    private StoreReplication P => _primary.Store.Replication!;
    private StoreReplication B => _backup.Store.Replication!;

    public ReplicationSeamTests()
    {
        P.Observe(_shipped);
        for (var p = 0; p < Partitions; p++)
        {
            P.Configure(p, PartitionRole.Primary, 1);
            B.Configure(p, PartitionRole.Backup, 0);
        }
    }

    /// <summary>Keeps every appended record's bytes, as a node would send them.</summary>
    private sealed class Recorder : IAppendObserver
    {
        public ConcurrentQueue<(int Partition, long Sequence, byte[] Bytes)> Records { get; } = new();
        public void Appended(int partition, long partitionSequence, long version, ReadOnlySpan<byte> framedRecord) =>
            Records.Enqueue((partition, partitionSequence, framedRecord.ToArray()));
        public void Committed() { }
    }

    private async Task ShipAllAsync()
    {
        while (_shipped.Records.TryDequeue(out var r)) B.Apply(r.Bytes);
        await B.AfterApplyAsync();
    }

    private void AcknowledgeAll()
    {
        for (var p = 0; p < Partitions; p++) P.Acknowledge(p, P.State(p).Sequence);
    }

    [Fact]
    public async Task A_backup_applying_the_primarys_records_holds_the_same_versions_values_and_histories()
    {
        var v1 = await _primary.Store.PutAsync(At("a/x", "k"), Json("{\"n\":1}"), "elena");
        await _primary.Store.PutAsync(At("a/x", "k"), Json("{\"n\":2}"), "elena", new WriteCondition(WriteConditionKind.IfVersion, v1.Version));
        await _primary.Store.PutAsync(At("b", "j"), Json("7"), "lily", secondaryKeys: new SecondaryKeys(K2: "seven"));
        await _primary.Store.DeleteAsync(At("b", "j"), "lily");
        await ShipAllAsync();

        for (var p = 0; p < Partitions; p++)
        {
            var (ps, bs) = (P.State(p), B.State(p));
            Assert.Equal((ps.Sequence, ps.Position), (bs.Sequence, bs.Position));
        }
        AcknowledgeAll();
        var primaryHistory = await _primary.Store.GetHistoryAsync(At("a/x", "k"), HistoryQuery.All);
        // A backup serves no reads: it becomes a primary first, which shows what it holds.
        for (var p = 0; p < Partitions; p++) B.Configure(p, PartitionRole.Primary, 2);
        var backupHistory = await _backup.Store.GetHistoryAsync(At("a/x", "k"), HistoryQuery.All);
        Assert.Equal(primaryHistory.Select(h => (h.Version, h.TimestampMs, h.Actor, Text(h.Value))),
            backupHistory.Select(h => (h.Version, h.TimestampMs, h.Actor, Text(h.Value))));
        Assert.Equal(2, backupHistory.Count);
        Assert.False(_backup.Store.TryGetLatest(At("b", "j"), out _));
        Assert.Equal(2, (await _backup.Store.GetHistoryAsync(At("b", "j"), HistoryQuery.All)).Count);
    }

    [Fact]
    public async Task Readers_of_a_primary_see_a_version_only_once_it_is_acknowledged()
    {
        var v1 = await _primary.Store.PutAsync(At("a", "k"), Json("1"), "u");
        Assert.False(_primary.Store.TryGetLatest(At("a", "k"), out _));
        P.Acknowledge(v1.Partition, v1.PartitionSequence);
        Assert.True(_primary.Store.TryGetLatest(At("a", "k"), out var seen));
        Assert.Equal("1", Text(seen.Json));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var feed = _primary.Store.ReadChangesAsync(new ChangeFilter("b1"), FeedCursor.Beginning(Partitions), timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await feed.MoveNextAsync());
        Assert.Equal(v1.Version, feed.Current.Version);

        var v2 = await _primary.Store.PutAsync(At("a", "k"), Json("2"), "u");
        var next = feed.MoveNextAsync().AsTask();
        Assert.True(_primary.Store.TryGetLatest(At("a", "k"), out seen));
        Assert.Equal("1", Text(seen.Json));
        // A compare-and-set that lost to the unacknowledged version waits (here: until the acknowledgement comes).
        var lost = _primary.Store.PutAsync(At("a", "k"), Json("3"), "u", new WriteCondition(WriteConditionKind.IfVersion, v1.Version)).AsTask();
        await Task.Delay(50);
        Assert.False(next.IsCompleted, "the feed handed out a version before its acknowledgement");
        Assert.False(lost.IsCompleted, "the refusal did not wait for the version it lost to");
        P.Acknowledge(v2.Partition, v2.PartitionSequence);
        Assert.True(await next);
        Assert.Equal(v2.Version, feed.Current.Version);
        var refusal = await Assert.ThrowsAsync<EngineException>(() => lost);
        Assert.Equal(EngineError.VersionConflict, refusal.Error);
        await feed.DisposeAsync();
    }

    [Fact]
    public async Task Only_the_primary_takes_local_writes_and_only_a_backup_takes_records()
    {
        await _primary.Store.PutAsync(At("a", "k"), Json("1"), "u");
        var onBackup = await Assert.ThrowsAsync<EngineException>(() => _backup.Store.PutAsync(At("a", "k"), Json("1"), "u").AsTask());
        Assert.Equal(EngineError.NotPrimary, onBackup.Error);
        _shipped.Records.TryPeek(out var record);
        Assert.Equal(EngineError.NotPrimary, Assert.Throws<EngineException>(() => P.Apply(record.Bytes)).Error);

        var p = record.Partition;
        B.Configure(p, PartitionRole.None, 0);
        Assert.Equal(EngineError.NotPrimary, Assert.Throws<EngineException>(() => B.Apply(record.Bytes)).Error);
        B.Configure(p, PartitionRole.Backup, 0);
        B.Apply(record.Bytes);
        // The same record again is taken as sent twice; a gap is refused.
        B.Apply(record.Bytes);
        await _primary.Store.PutAsync(At("a", "k"), Json("2"), "u");
        await _primary.Store.PutAsync(At("a", "k"), Json("3"), "u");
        var records = _shipped.Records.Where(r => r.Partition == p).ToList();
        Assert.Equal(EngineError.OutOfOrder, Assert.Throws<EngineException>(() => B.Apply(records[^1].Bytes)).Error);
    }

    [Fact]
    public async Task A_backup_voids_what_its_old_primary_never_got_acknowledged_and_follows_the_new_one()
    {
        // Old primary P writes k1..k3 v1 and k1 v2 (partition p); the backup got all of them.
        var address = At("t", "k1");
        var p = _primary.Store.PartitionOf("b1", "data", "t");
        await _primary.Store.PutAsync(address, Json("\"v1\""), "u");
        await _primary.Store.PutAsync(At("t", "k2"), Json("\"k2\""), "u");
        await ShipAllAsync();
        // Acknowledged up to here (sequence 2). Then two more the new primary never got: k1 v2 and a new key k3.
        await _primary.Store.PutAsync(address, Json("\"v2\""), "u");
        await _primary.Store.PutAsync(At("t", "k3"), Json("\"k3\""), "u");
        await ShipAllAsync();
        Assert.Equal(4, B.State(p).Sequence);

        // The backup becomes a new primary's backup and must part at 2: the new primary (another store) has 1..2 of
        // epoch 1 and writes 3.. in epoch 2.
        await using var next = ScratchStore.Open(Replicated);
        var n = next.Store.Replication!;
        n.Configure(p, PartitionRole.Backup, 0);
        foreach (var bytes in (await P.ReadRecordsAsync(p, 0, maxRecords: 2)).Records.Records) n.Apply(bytes);
        n.Configure(p, PartitionRole.Primary, 2);
        var shipped = new Recorder();
        n.Observe(shipped);
        await next.Store.PutAsync(At("t", "k2"), Json("\"k2 again\""), "u");

        var backupState = B.State(p);
        var newState = n.State(p);
        var common = StoreReplication.CommonSequence(backupState.Epochs, backupState.Sequence, newState.Epochs, newState.Sequence);
        Assert.Equal(2, common);
        Assert.Equal(2, await B.TruncateAsync(p, common));
        while (shipped.Records.TryDequeue(out var r)) B.Apply(r.Bytes);
        await B.AfterApplyAsync();

        async Task AssertFollowsNewPrimaryAsync(string when)
        {
            var state = B.State(p);
            var last = new VersionId(state.Position);
            Assert.True(state.Sequence == 3 && last.Epoch == 2, $"{when}: at {state.Sequence}, last record of epoch {last.Epoch}");
            B.Configure(p, PartitionRole.Primary, 3);
            Assert.True(_backup.Store.TryGetLatest(address, out var k1), when);
            Assert.Equal("\"v1\"", Text(k1.Json));
            Assert.False(_backup.Store.TryGetLatest(At("t", "k3"), out _), $"{when}: k3 was never acknowledged");
            Assert.True(_backup.Store.TryGetLatest(At("t", "k2"), out var k2), when);
            Assert.Equal("\"k2 again\"", Text(k2.Json));
            Assert.Single(await _backup.Store.GetHistoryAsync(address, HistoryQuery.All));
            Assert.Equal(["k1", "k2"], _backup.Store.ListKeys("b1", "data", "t"));

            // The feed from the beginning and a catch-up read skip the voided records.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var events = new List<ChangeEvent>();
            await foreach (var change in _backup.Store.ReadChangesAsync(new ChangeFilter("b1", PathPrefix: "t"), FeedCursor.Beginning(Partitions), timeout.Token))
            {
                events.Add(change);
                if (events.Count == 3) break;
            }
            Assert.Equal(["\"v1\"", "\"k2\"", "\"k2 again\""], events.Select(e => Text(e.Value)));
            var read = (await B.ReadRecordsAsync(p, 0)).Records;
            Assert.Equal(3, read.Records.Count);
            Assert.Equal(3, read.LastSequence);
            B.Configure(p, PartitionRole.Backup, 0);
        }

        await AssertFollowsNewPrimaryAsync("live");
        await _backup.ReopenAsync();
        B.Configure(p, PartitionRole.Backup, 0);
        await AssertFollowsNewPrimaryAsync("after a clean reopen");
        // Without its checkpoints: the marker replayed from the log does the same.
        await _backup.Store.DisposeAsync();
        Directory.Delete(Path.Combine(_backup.Directory, "checkpoints"), recursive: true);
        await _backup.ReopenAsync();
        B.Configure(p, PartitionRole.Backup, 0);
        await AssertFollowsNewPrimaryAsync("after a replay of the whole log");
    }

    [Fact]
    public async Task Voiding_past_a_bucket_drop_empties_the_partition_to_be_copied_again()
    {
        var p = _primary.Store.PartitionOf("b1", "data", "t");
        await _primary.Store.PutAsync(At("t", "k"), Json("1"), "u");
        await ShipAllAsync();
        await _primary.Store.DeleteBucketAsync("b1", "$sys");
        await _primary.Store.PutAsync(At("t", "k"), Json("2"), "u");
        await ShipAllAsync();
        Assert.Equal(3, B.State(p).Sequence);

        Assert.Equal(0, await B.TruncateAsync(p, 1));
        Assert.Equal(0, B.State(p).Sequence);
        foreach (var bytes in (await P.ReadRecordsAsync(p, 0)).Records.Records) B.Apply(bytes);
        B.Configure(p, PartitionRole.Primary, 2);
        Assert.True(_backup.Store.TryGetLatest(At("t", "k"), out var k));
        Assert.Equal("2", Text(k.Json));
        Assert.Single(await _backup.Store.GetHistoryAsync(At("t", "k"), HistoryQuery.All));
    }

    [Fact]
    public async Task A_bucket_drop_goes_partition_by_partition_and_only_to_the_partitions_asked()
    {
        string[] paths = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        foreach (var path in paths) await _primary.Store.PutAsync(At(path, "k"), Json("1"), "u");
        AcknowledgeAll();
        var first = _primary.Store.PartitionOf("b1", "data", "a");
        var dropped = await _primary.Store.DeleteBucketAsync("b1", "$sys", PartitionSet.Of(Partitions, [first]));
        AcknowledgeAll();
        Assert.Equal(paths.Count(path => _primary.Store.PartitionOf("b1", "data", path) == first), dropped);
        foreach (var path in paths)
            Assert.Equal(_primary.Store.PartitionOf("b1", "data", path) != first, _primary.Store.TryGetLatest(At(path, "k"), out _));
        await _primary.Store.DeleteBucketAsync("b1", "$sys");
        AcknowledgeAll();
        Assert.Empty(_primary.Store.ListBuckets());

        await ShipAllAsync();
        await _backup.ReopenAsync();
        for (var p = 0; p < Partitions; p++) B.Configure(p, PartitionRole.Primary, 2);
        Assert.Empty(_backup.Store.ListBuckets());
        Assert.Empty(await _backup.Store.GetHistoryAsync(At("a", "k"), HistoryQuery.All));
    }

    [Fact]
    public async Task A_history_position_that_is_not_this_keys_is_refused_as_a_bad_cursor()
    {
        for (var i = 0; i < 3; i++)
        {
            await _primary.Store.PutAsync(At("h", "a"), Json($"{i}"), "u");
            await _primary.Store.PutAsync(At("h", "b"), Json($"{i}"), "u");
        }
        AcknowledgeAll();
        var ofA = (await _primary.Store.GetHistoryAsync(At("h", "a"), HistoryQuery.All))[0].Position;
        var ofB = (await _primary.Store.GetHistoryAsync(At("h", "b"), HistoryQuery.All))[0].Position;
        Assert.Equal(2, (await Read(At("h", "a"), ofA)).Count);
        // A position of b (or one from another node's log: an address that holds something else) for a's history.
        var refused = await Assert.ThrowsAsync<EngineException>(() => Read(At("h", "a"), ofA with { Address = ofB.Address, PreviousAddress = ofB.PreviousAddress }));
        Assert.Equal(EngineError.BadCursor, refused.Error);
        refused = await Assert.ThrowsAsync<EngineException>(async () =>
        {
            await foreach (var _ in _primary.Store.ReadPathHistoryAsync("b1", "data", "h", HistoryQuery.All, ofA with { Version = ofA.Version + 1 })) { }
        });
        Assert.Equal(EngineError.BadCursor, refused.Error);

        async Task<List<HistoryEntry>> Read(EntryAddress address, HistoryPosition after)
        {
            var list = new List<HistoryEntry>();
            await foreach (var entry in _primary.Store.ReadHistoryAsync(address, HistoryQuery.All, after)) list.Add(entry);
            return list;
        }
    }

    [Theory]
    [InlineData(new[] { 1, 1 }, 10L, new[] { 1, 1 }, 20L, 10L)]              // behind in the same epoch
    [InlineData(new[] { 1, 1 }, 110L, new[] { 1, 1, 2, 106 }, 120L, 105L)]    // the old primary's unacknowledged tail
    [InlineData(new[] { 1, 1, 3, 200 }, 210L, new[] { 1, 1, 2, 150, 4, 300 }, 320L, 149L)]
    [InlineData(new[] { 2, 1 }, 5L, new[] { 1, 1, 3, 4 }, 9L, 0L)]           // nothing in common
    [InlineData(new int[0], 0L, new[] { 1, 1 }, 9L, 0L)]
    public void The_common_sequence_of_two_histories(int[] backup, long backupSequence, int[] primary, long primarySequence, long expected)
    {
        static List<(int, long)> Epochs(int[] flat) => [.. flat.Chunk(2).Select(c => (c[0], (long)c[1]))];
        Assert.Equal(expected, StoreReplication.CommonSequence(Epochs(backup), backupSequence, Epochs(primary), primarySequence));
    }

    public async ValueTask DisposeAsync()
    {
        await _primary.DisposeAsync();
        await _backup.DisposeAsync();
    }
}
