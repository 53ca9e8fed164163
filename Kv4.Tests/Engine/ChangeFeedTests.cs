using Kv4.Engine;
using Kv4.Engine.Model;
using static Kv4.Tests.Engine.ScratchStore;

namespace Kv4.Tests.Engine;

[Trait("Category", "Unit")]
public class ChangeFeedTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task<List<ChangeEvent>> CollectAsync(IAsyncEnumerable<ChangeEvent> feed, Func<ChangeEvent, bool> until, CancellationToken token)
    {
        var events = new List<ChangeEvent>();
        await foreach (var change in feed.WithCancellation(token))
        {
            events.Add(change);
            if (until(change)) break;
        }
        return events;
    }

    [Fact]
    public async Task Replay_then_live_has_no_gap_and_no_duplicate_while_a_writer_keeps_writing()
    {
        await using var s = ScratchStore.Open();
        const int before = 2000, during = 3000;
        for (var i = 0; i < before; i++)
            await s.Store.PutAsync(At($"p/{i % 7}", "k" + (i % 50)), Json(i.ToString()), "u");

        using var timeout = new CancellationTokenSource(Patience);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < during; i++)
                await s.Store.PutAsync(At($"p/{i % 7}", "k" + (i % 50)), Json(i.ToString()), "u");
        });
        const long start = 500;
        var events = await CollectAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), start, timeout.Token),
            e => e.Sequence == before + during, timeout.Token);
        await writer;

        Assert.Equal(Enumerable.Range((int)start + 1, before + during - (int)start).Select(i => (long)i), events.Select(e => e.Sequence));
        // Replayed and live events carry the same data as the store.
        var last = events[^1];
        Assert.True(s.Store.TryGetLatest(new EntryAddress(last.Bucket, last.Layer, last.Path, last.Key), out var value));
        Assert.Equal(value.Version, last.Version);
        Assert.Equal(Text(value.Json), Text(last.Value));
    }

    [Fact]
    public async Task Filter_by_layer_and_path_prefix_matches_whole_segments_and_drop_bucket_always_matches()
    {
        await using var s = ScratchStore.Open();
        using var timeout = new CancellationTokenSource(Patience);
        var feed = s.Store.ReadChangesAsync(new ChangeFilter("lily", "data", "a/b"), afterSequence: 0, timeout.Token);
        await s.Store.PutAsync(At("a/b", "in1", bucket: "lily"), Json("1"), "u");
        await s.Store.PutAsync(At("a/bc", "out", bucket: "lily"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b/c", "in2", bucket: "lily"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b", "out", bucket: "lily", layer: "ns"), Json("1"), "u");
        await s.Store.PutAsync(At("a/b", "out", bucket: "rose"), Json("1"), "u");
        await s.Store.DeleteAsync(At("a/b", "in1", bucket: "lily"), "u");
        await s.Store.DeleteBucketAsync("lily", "admin");

        var events = await CollectAsync(feed, e => e.Op == Operation.DropBucket, timeout.Token);
        Assert.Equal(["Put a/b in1", "Put a/b/c in2", "Delete a/b in1", "DropBucket  "], events.Select(e => $"{e.Op} {e.Path} {e.Key}"));
        Assert.Null(events[2].Value);
        Assert.Equal("admin", events[3].Actor);
    }

    [Fact]
    public async Task A_live_reader_without_a_start_sees_only_changes_after_the_call()
    {
        await using var s = ScratchStore.Open();
        await s.Store.PutAsync(At("p", "old"), Json("1"), "u");
        using var timeout = new CancellationTokenSource(Patience);
        var feed = s.Store.ReadChangesAsync(new ChangeFilter("b1"), afterSequence: null, timeout.Token);
        // Written after the call but before the reader first asks: still delivered.
        await s.Store.PutAsync(At("p", "new1"), Json("1"), "u");
        var reading = CollectAsync(feed, e => e.Key == "new2", timeout.Token);
        await s.Store.PutAsync(At("p", "new2"), Json("1"), "u");
        Assert.Equal(["new1", "new2"], (await reading).Select(e => e.Key));
    }

    [Fact]
    public async Task A_reader_that_falls_far_behind_catches_up_from_the_log_without_a_gap()
    {
        await using var s = ScratchStore.Open();
        using var timeout = new CancellationTokenSource(Patience);
        await using var reader = s.Store.ReadChangesAsync(new ChangeFilter("b1"), afterSequence: 0, timeout.Token).GetAsyncEnumerator(timeout.Token);
        var first = reader.MoveNextAsync();
        var total = Kv4.Engine.Feed.ChangeFeed.SubscriptionCapacity + 2000;
        for (var i = 1; i <= total; i++)
            await s.Store.PutAsync(At("p", "k"), Json(i.ToString()), "u");

        Assert.True(await first);
        var sequences = new List<long> { reader.Current.Sequence };
        while (sequences[^1] < total && await reader.MoveNextAsync())
            sequences.Add(reader.Current.Sequence);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), sequences);
        Assert.True(s.Store.FeedOverflows > 0, "the reader was expected to overflow its live subscription");
    }

    [Fact]
    public async Task Events_carry_partition_sequences_and_the_feed_ends_when_the_store_closes()
    {
        var s = ScratchStore.Open();
        using var timeout = new CancellationTokenSource(Patience);
        var w1 = await s.Store.PutAsync(At("p", "a"), Json("1"), "u");
        var w2 = await s.Store.PutAsync(At("p", "b"), Json("1"), "u");
        await using var reader = s.Store.ReadChangesAsync(new ChangeFilter("b1"), afterSequence: 0, timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal((w1.Partition, w1.PartitionSequence), (reader.Current.Partition, reader.Current.PartitionSequence));
        Assert.True(await reader.MoveNextAsync());
        Assert.Equal((w2.Partition, w2.PartitionSequence), (reader.Current.Partition, reader.Current.PartitionSequence));

        var next = reader.MoveNextAsync();
        await s.Store.DisposeAsync();
        Assert.False(await next);
        await s.DisposeAsync();
    }

    [Fact]
    public async Task Replay_reaches_back_across_a_reopen()
    {
        await using var s = ScratchStore.Open(o => new StoreOptions { DataDirectory = o.DataDirectory, Clock = o.Clock, CheckpointEveryRecords = 1000 });
        for (var i = 0; i < 5000; i++)
            await s.Store.PutAsync(At("p", "k" + (i % 10)), Json(i.ToString()), "u");
        await s.ReopenAsync();
        using var timeout = new CancellationTokenSource(Patience);
        var events = await CollectAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), 4100, timeout.Token), e => e.Sequence == 5000, timeout.Token);
        Assert.Equal(Enumerable.Range(4101, 900).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal("4100", Text(events[0].Value));
    }
}
