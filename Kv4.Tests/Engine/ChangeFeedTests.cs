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
        // Seven paths: the writes go to several partitions; one writer, so the feed's order is the writes' order.
        for (var i = 0; i < before; i++)
            await s.Store.PutAsync(At($"p/{i % 7}", "k" + (i % 50)), Json(i.ToString()), "u");

        using var timeout = new CancellationTokenSource(Patience);
        // The cursor after the first 500 changes, as a client would hold it: the text of the 500th event's cursor.
        const int start = 500;
        var cursor = FeedCursor.Beginning();
        var first = await CollectAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), cursor, timeout.Token), e => ValueOf(e) == start - 1, timeout.Token);
        Assert.Equal(start, first.Count);
        Assert.True(FeedCursor.TryParse(cursor.ToString(), out var resumed));

        var writer = Task.Run(async () =>
        {
            for (var i = before; i < before + during; i++)
                await s.Store.PutAsync(At($"p/{i % 7}", "k" + (i % 50)), Json(i.ToString()), "u");
        });
        var events = await CollectAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), resumed, timeout.Token),
            e => ValueOf(e) == before + during - 1, timeout.Token);
        await writer;

        Assert.Equal(Enumerable.Range(start, before + during - start), events.Select(ValueOf));
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
        var feed = s.Store.ReadChangesAsync(new ChangeFilter("lily", "data", "a/b"), FeedCursor.Beginning(), timeout.Token);
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
        var feed = s.Store.ReadChangesAsync(new ChangeFilter("b1"), after: null, timeout.Token);
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
        await using var reader = s.Store.ReadChangesAsync(new ChangeFilter("b1"), FeedCursor.Beginning(), timeout.Token).GetAsyncEnumerator(timeout.Token);
        var first = reader.MoveNextAsync();
        var total = Kv4.Engine.Feed.ChangeFeed.SubscriptionCapacity + 2000;
        for (var i = 1; i <= total; i++)
            await s.Store.PutAsync(At($"p/{i % 5}", "k"), Json(i.ToString()), "u");

        Assert.True(await first);
        var values = new List<int> { ValueOf(reader.Current) };
        while (values[^1] < total && await reader.MoveNextAsync())
            values.Add(ValueOf(reader.Current));
        Assert.Equal(Enumerable.Range(1, total), values);
        Assert.True(s.Store.FeedOverflows > 0, "the reader was expected to overflow its live subscription");
    }

    [Fact]
    public async Task Events_carry_partition_sequences_and_the_feed_ends_when_the_store_closes()
    {
        var s = ScratchStore.Open();
        using var timeout = new CancellationTokenSource(Patience);
        var w1 = await s.Store.PutAsync(At("p", "a"), Json("1"), "u");
        var w2 = await s.Store.PutAsync(At("p", "b"), Json("1"), "u");
        await using var reader = s.Store.ReadChangesAsync(new ChangeFilter("b1"), FeedCursor.Beginning(), timeout.Token).GetAsyncEnumerator(timeout.Token);
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
        using var timeout = new CancellationTokenSource(Patience);
        string? held = null;
        for (var i = 0; i < 5000; i++)
        {
            await s.Store.PutAsync(At($"p/{i % 3}", "k" + (i % 10)), Json(i.ToString()), "u");
            if (i == 4099) held = s.Store.CurrentCursor().ToString();
        }
        await s.ReopenAsync();
        Assert.True(FeedCursor.TryParse(held, out var cursor));
        var events = await CollectAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), cursor, timeout.Token), e => ValueOf(e) == 4999, timeout.Token);
        Assert.Equal(Enumerable.Range(4100, 900), events.Select(ValueOf));
    }

    [Fact]
    public async Task Writers_on_many_partitions_each_get_every_change_once_in_its_partitions_order_across_a_resume()
    {
        await using var s = ScratchStore.Open();
        using var timeout = new CancellationTokenSource(Patience);
        const int writers = 4, each = 1500;
        var feed = FeedCursor.Beginning();
        var received = new List<ChangeEvent>();
        // Read half, resume from the text of the cursor (as a client would after a dropped connection), read the rest.
        var writing = Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < each; i++)
                await s.Store.PutAsync(At($"w{w}/{i % 11}", "k"), Json(i.ToString()), $"w{w}");
        })));
        received.AddRange(await CollectUntilCountAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), feed, timeout.Token), writers * each / 2, timeout.Token));
        Assert.True(FeedCursor.TryParse(feed.ToString(), out var resumed));
        received.AddRange(await CollectUntilCountAsync(s.Store.ReadChangesAsync(new ChangeFilter("b1"), resumed, timeout.Token),
            writers * each - received.Count, timeout.Token));
        await writing;

        Assert.Equal(writers * each, received.Count);
        Assert.Equal(writers * each, received.Select(e => (e.Partition, e.Version)).Distinct().Count());
        foreach (var partition in received.GroupBy(e => e.Partition))
        {
            var versions = partition.Select(e => e.Version.Value).ToList();
            Assert.Equal(versions.Order(), versions);
        }
        foreach (var writer in received.GroupBy(e => e.Actor))
            Assert.Equal(Enumerable.Range(0, each), writer.Select(ValueOf));
    }

    [Fact]
    public void A_cursor_text_round_trips_and_anything_else_is_refused()
    {
        var cursor = FeedCursor.Beginning(4);
        Assert.Equal("0", cursor.ToString());
        cursor.Set(0, VersionId.Of(0, 0, 1).Value);
        cursor.Set(2, VersionId.Of(0, 2, 2).Value);
        cursor.Set(3, VersionId.Of(0, 3, 1).Value);
        // The worked example of FeedCursor's comment.
        Assert.Equal("AQQAAAEBAAIAAAE", cursor.ToString());
        Assert.True(FeedCursor.TryParse(cursor.ToString(), out var back));
        Assert.Equal(4, back.PartitionCount);
        Assert.Equal([cursor[0], 0, cursor[2], cursor[3]], Enumerable.Range(0, 4).Select(p => back[p]));
        var epochs = FeedCursor.Beginning(64);
        epochs.Set(63, VersionId.Of(5, 63, 123_456_789).Value);
        Assert.True(FeedCursor.TryParse(epochs.ToString(), out var far));
        Assert.Equal(VersionId.Of(5, 63, 123_456_789).Value, far[63]);

        foreach (var bad in new[] { "", "x", "-1", "AA", "AQA", "AQQFAQ", "AQQAAQ!", new string('A', FeedCursor.MaxTextLength + 1) })
            Assert.False(FeedCursor.TryParse(bad, out _), $"'{bad}' was taken for a cursor");
    }

    [Fact]
    public async Task A_cursor_for_another_partition_count_is_refused_before_anything_is_read()
    {
        await using var s = ScratchStore.Open();
        var other = FeedCursor.Beginning(s.Store.PartitionCount + 1);
        var ex = Assert.Throws<Kv4.Engine.Rules.EngineException>(() => s.Store.ReadChangesAsync(new ChangeFilter("b1"), other));
        Assert.Equal(Kv4.Engine.Rules.EngineError.BadCursor, ex.Error);
    }

    private static async Task<List<ChangeEvent>> CollectUntilCountAsync(IAsyncEnumerable<ChangeEvent> feed, int count, CancellationToken token)
    {
        var events = new List<ChangeEvent>();
        if (count <= 0) return events;
        await foreach (var change in feed.WithCancellation(token))
        {
            events.Add(change);
            if (events.Count == count) break;
        }
        return events;
    }

    private static int ValueOf(ChangeEvent change) => int.Parse(Text(change.Value), System.Globalization.CultureInfo.InvariantCulture);
}
