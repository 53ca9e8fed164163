using System.Text;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>One store with a little seeded data, shared by the bad-input cases (xunit runs a class's tests one at a time).</summary>
public sealed class BadInputStore : IAsyncLifetime
{
    public const int MaxValueBytes = 64;
    public static readonly EntryAddress Seeded = new("elena", "data", "my/data", "seeded");

    private readonly TempDirectory _directory = new("bad-input");

    public Kv4Store Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = Kv4Store.Open(new StoreOptions { DataDirectory = _directory.Path, MaxValueBytes = MaxValueBytes });
        await Store.PutAsync(Seeded, "{\"v\":1}"u8.ToArray(), "elena");
        await Store.PutAsync(Seeded, "{\"v\":2}"u8.ToArray(), "elena", secondaryKeys: new SecondaryKeys(K2: "mail@example.com"));
        await Store.PutAsync(Seeded with { Path = "my", Key = "other" }, "[]"u8.ToArray(), "elena");
    }

    public async Task DisposeAsync()
    {
        if (Store is not null) await Store.DisposeAsync();
        _directory.Dispose();
    }
}

/// <summary>
/// Every rule of AddressRules and JsonValueRules, reached through the store's write API. Each refused
/// call must throw the rule's typed error and leave no trace: the same LastSequence, the same listings,
/// the same seeded entry and history, and nothing new on the change feed (checked by writing a marker
/// afterwards and requiring it to be the very next event).
/// </summary>
[Trait("Category", "Unit")]
public class BadInputTests(BadInputStore fixture) : IClassFixture<BadInputStore>
{
    private Kv4Store Store => fixture.Store;
    private static readonly EntryAddress Good = new("elena", "data", "my/data", "k");
    private static readonly byte[] GoodJson = "{\"ok\":true}"u8.ToArray();

    public static TheoryData<string> BadBuckets => ["", "a/b", "a#b#c", "#a", "a#", "a\u0001b", "tab\there", new string('b', AddressRules.MaxBucketBytes + 1)];

    public static TheoryData<string> BadLayers => ["", "Data", "da ta", "a/b", "dätä", "a.b", new string('l', AddressRules.MaxLayerLength + 1)];

    public static TheoryData<string> BadPaths =>
    [
        "a//b", "//", "a/./b", "a/../b", "..", ".", "a/\u0001b", "a\nb", "a/\u007f",
        string.Join('/', Enumerable.Repeat("s", AddressRules.MaxSegments + 1)),
        new string('x', AddressRules.MaxSegmentBytes + 1),
        new string('é', 128), // 256 bytes of UTF-8 in 128 chars
    ];

    public static TheoryData<string> BadKeys => ["", "a\tb", "line\n", "\u0000", new string('k', AddressRules.MaxKeyBytes + 1), new string('é', 257)];

    public static TheoryData<byte[]> MalformedJson =>
    [
        [], " "u8.ToArray(), "{"u8.ToArray(), "{\"a\":1,}"u8.ToArray(), "[1,2"u8.ToArray(), "nul"u8.ToArray(), "'x'"u8.ToArray(),
        "{} {}"u8.ToArray(), "1 2"u8.ToArray(), "/*c*/1"u8.ToArray(), "{a:1}"u8.ToArray(), "01"u8.ToArray(), "NaN"u8.ToArray(),
        [(byte)'"', 0xC3, 0x28, (byte)'"'], // invalid UTF-8 inside a string
        [(byte)'"', 0xFF, (byte)'"'],
        Encoding.UTF8.GetBytes(new string('[', JsonValueRules.MaxDepth + 1) + new string(']', JsonValueRules.MaxDepth + 1)),
    ];

    [Theory, MemberData(nameof(BadBuckets))]
    public Task Bad_bucket_is_refused_and_nothing_is_written(string bucket) =>
        AssertRefusedAsync(EngineError.BadBucket,
            () => Store.PutAsync(Good with { Bucket = bucket }, GoodJson, "elena").AsTask(),
            () => Store.DeleteAsync(Good with { Bucket = bucket }, "elena").AsTask(),
            () => Store.DeleteTreeAsync(bucket, "data", "my", "elena").AsTask(),
            () => Store.DeleteBucketAsync(bucket, "elena").AsTask());

    [Theory, MemberData(nameof(BadLayers))]
    public Task Bad_layer_is_refused_and_nothing_is_written(string layer) =>
        AssertRefusedAsync(EngineError.BadLayer,
            () => Store.PutAsync(Good with { Layer = layer }, GoodJson, "elena").AsTask(),
            () => Store.DeleteAsync(Good with { Layer = layer }, "elena").AsTask(),
            () => Store.DeleteTreeAsync("elena", layer, "my", "elena").AsTask());

    [Theory, MemberData(nameof(BadPaths))]
    public Task Bad_path_is_refused_and_nothing_is_written(string path) =>
        AssertRefusedAsync(EngineError.BadPath,
            () => Store.PutAsync(Good with { Path = path }, GoodJson, "elena").AsTask(),
            () => Store.DeleteAsync(Good with { Path = path }, "elena").AsTask(),
            () => Store.DeleteTreeAsync("elena", "data", path, "elena").AsTask());

    [Theory, MemberData(nameof(BadKeys))]
    public Task Bad_key_is_refused_and_nothing_is_written(string key) =>
        AssertRefusedAsync(EngineError.BadKey,
            () => Store.PutAsync(Good with { Key = key }, GoodJson, "elena").AsTask(),
            () => Store.DeleteAsync(Good with { Key = key }, "elena").AsTask());

    public static TheoryData<int, string> BadSecondaryKeys()
    {
        var data = new TheoryData<int, string>();
        foreach (var slot in new[] { 2, 3, 4 })
            foreach (var bad in new[] { "", "a\tb", "\u0000", new string('k', AddressRules.MaxKeyBytes + 1) })
                data.Add(slot, bad);
        return data;
    }

    /// <summary>Secondary keys follow the key rule (the contract is silent; the engine applies AddressRules.IsValidKey).</summary>
    [Theory, MemberData(nameof(BadSecondaryKeys))]
    public Task Bad_secondary_key_is_refused_and_nothing_is_written(int slot, string value)
    {
        var keys = slot switch
        {
            2 => new SecondaryKeys(K2: value),
            3 => new SecondaryKeys(K2: "fine", K3: value),
            _ => new SecondaryKeys(K4: value),
        };
        return AssertRefusedAsync(EngineError.BadKey,
            () => Store.PutAsync(Good, GoodJson, "elena", secondaryKeys: keys).AsTask(),
            () => Store.PutAsync(BadInputStore.Seeded, GoodJson, "elena", WriteCondition.IfVersion(CurrentVersion()), keys).AsTask());
    }

    [Fact]
    public async Task A_closed_store_refuses_writes_with_Closed_and_they_are_not_there_after_reopening()
    {
        using var directory = new TempDirectory("bad-input-closed");
        var options = new StoreOptions { DataDirectory = directory.Path };
        var store = Kv4Store.Open(options);
        await store.PutAsync(Good, GoodJson, "elena");
        await store.DisposeAsync();

        Assert.Equal(EngineError.Closed, (await Assert.ThrowsAsync<EngineException>(async () => await store.PutAsync(Good with { Key = "late" }, GoodJson, "elena"))).Error);
        Assert.Equal(EngineError.Closed, (await Assert.ThrowsAsync<EngineException>(async () => await store.DeleteAsync(Good, "elena"))).Error);
        Assert.Equal(EngineError.Closed, (await Assert.ThrowsAsync<EngineException>(async () => await store.DeleteTreeAsync("elena", "data", "", "elena"))).Error);

        await using var reopened = Kv4Store.Open(options);
        Assert.Equal(1, reopened.AppendedRecords);
        Assert.Equal(["k"], reopened.ListKeys(Good.Bucket, Good.Layer, Good.Path));
    }

    [Theory, MemberData(nameof(MalformedJson))]
    public Task Malformed_json_is_refused_and_nothing_is_written(byte[] json) =>
        AssertRefusedAsync(EngineError.BadJson,
            () => Store.PutAsync(Good, json, "elena").AsTask(),
            // Also on an existing entry, with a right version: the check comes before the condition is applied.
            () => Store.PutAsync(BadInputStore.Seeded, json, "elena", WriteCondition.IfVersion(CurrentVersion())).AsTask());

    [Fact]
    public async Task A_value_over_the_limit_is_refused_and_one_at_the_limit_is_stored_compact()
    {
        // {"s":"xxx..."} of exactly MaxValueBytes compact bytes, and the same padded with spaces (still fits once compact).
        var atLimit = "{\"s\":\"" + new string('x', BadInputStore.MaxValueBytes - 8) + "\"}";
        Assert.Equal(BadInputStore.MaxValueBytes, Encoding.UTF8.GetByteCount(atLimit));
        var overLimit = "{\"s\":\"" + new string('x', BadInputStore.MaxValueBytes - 7) + "\"}";

        await AssertRefusedAsync(EngineError.ValueTooLarge,
            () => Store.PutAsync(Good, Encoding.UTF8.GetBytes(overLimit), "elena").AsTask(),
            () => Store.PutAsync(Good, Encoding.UTF8.GetBytes(" " + overLimit.Replace(":", " : ") + " "), "elena").AsTask(),
            () => Store.PutAsync(BadInputStore.Seeded, Encoding.UTF8.GetBytes(overLimit), "elena", WriteCondition.IfVersion(CurrentVersion())).AsTask());

        var padded = Encoding.UTF8.GetBytes("  " + atLimit.Replace(":", " :\n ") + "\t");
        var at = Good with { Key = "at-limit" };
        await Store.PutAsync(at, padded, "elena");
        Assert.True(Store.TryGetLatest(at, out var stored));
        Assert.Equal(atLimit, Encoding.UTF8.GetString(stored.Json.Span));
        await Store.DeleteAsync(at, "elena");
    }

    [Fact]
    public async Task The_default_limit_is_one_mebibyte()
    {
        using var directory = new TempDirectory("bad-input-1mib");
        await using var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path });
        Assert.Equal(1 << 20, store.Options.MaxValueBytes);
        var body = new string('x', (1 << 20) - 2);
        var ex = await Assert.ThrowsAsync<EngineException>(async () =>
            await store.PutAsync(Good, Encoding.UTF8.GetBytes("\"" + body + "x\""), "elena"));
        Assert.Equal(EngineError.ValueTooLarge, ex.Error);
        Assert.Equal(0, store.AppendedRecords);
        Assert.Empty(store.ListBuckets());

        await store.PutAsync(Good, Encoding.UTF8.GetBytes("\"" + body + "\""), "elena");
        Assert.True(store.TryGetLatest(Good, out var stored));
        Assert.Equal(1 << 20, stored.Json.Length);
    }

    [Fact]
    public async Task Refused_conditions_and_secondary_key_clashes_write_nothing()
    {
        var current = CurrentVersion();
        await AssertRefusedAsync(EngineError.VersionConflict,
            () => Store.PutAsync(BadInputStore.Seeded, GoodJson, "elena", WriteCondition.IfVersion(new VersionId(current.Value + 1000))).AsTask(),
            () => Store.DeleteAsync(BadInputStore.Seeded, "elena", WriteCondition.IfVersion(new VersionId(current.Value + 1000))).AsTask());
        await AssertRefusedAsync(EngineError.NotFound,
            () => Store.PutAsync(Good with { Key = "absent" }, GoodJson, "elena", WriteCondition.IfVersion(current)).AsTask());
        await AssertRefusedAsync(EngineError.Exists,
            () => Store.PutAsync(BadInputStore.Seeded, GoodJson, "elena", WriteCondition.IfAbsent).AsTask());
        await AssertRefusedAsync(EngineError.SecondaryKeyTaken,
            () => Store.PutAsync(Good with { Key = "clash" }, GoodJson, "elena", secondaryKeys: new SecondaryKeys(K2: "mail@example.com")).AsTask());
    }

    private VersionId CurrentVersion()
    {
        Assert.True(Store.TryGetLatest(BadInputStore.Seeded, out var seeded));
        return seeded.Version;
    }

    private async Task AssertRefusedAsync(EngineError expected, params Func<Task>[] attempts)
    {
        var before = await SnapshotAsync();
        for (var i = 0; i < attempts.Length; i++)
        {
            var ex = await Assert.ThrowsAsync<EngineException>(attempts[i]);
            Assert.True(expected == ex.Error, $"attempt #{i}: expected {expected}, got {ex.Error} ({ex.Message})");
            Assert.Equal(before, await SnapshotAsync());
        }

        // Nothing new on the feed: a marker written now must be the first event after the cursor taken before the attempts.
        var marker = new EntryAddress("elena", "data", "marker", "m");
        var written = await Store.PutAsync(marker, "1"u8.ToArray(), "elena");
        var next = await FeedReader.ReadAsync(Store, new ChangeFilter("elena"), before.Cursor, 1);
        Assert.Equal((written.Partition, written.Version), (next[0].Partition, next[0].Version));
        Assert.Equal("marker", next[0].Path);
        await Store.DeleteAsync(marker, "elena");
    }

    private async Task<Snapshot> SnapshotAsync()
    {
        var seeded = BadInputStore.Seeded;
        var text = new StringBuilder();
        text.Append("LastSequence=").Append(Store.AppendedRecords).Append('\n');
        text.Append("buckets=").AppendJoin(',', Store.ListBuckets()).Append('\n');
        foreach (var bucket in Store.ListBuckets())
            text.Append("layers(").Append(bucket).Append(")=").AppendJoin(',', Store.ListLayers(bucket)).Append('\n');
        text.Append("paths=").AppendJoin(',', Store.ListPaths(seeded.Bucket, seeded.Layer, "")).Append('\n');
        foreach (var path in Store.ListPaths(seeded.Bucket, seeded.Layer, ""))
            text.Append("keys(").Append(path).Append(")=").AppendJoin(',', Store.ListKeys(seeded.Bucket, seeded.Layer, path)).Append('\n');
        Assert.True(Store.TryGetLatest(seeded, out var latest));
        text.Append("seeded=").Append(Encoding.UTF8.GetString(latest.Json.Span)).Append('@').Append(latest.Version).Append('\n');
        foreach (var h in await Store.GetHistoryAsync(seeded, HistoryQuery.All))
            text.Append("history ").Append(h.Version).Append(' ').Append(h.Op).Append('\n');
        return new Snapshot(Store.AppendedRecords, text.ToString()) { Cursor = Store.CurrentCursor() };
    }

    /// <summary>The snapshot as a record so Assert.Equal prints both sides (the cursor is where the feed stood, not compared).</summary>
    private readonly record struct Snapshot(long AppendedRecords, string Text)
    {
        public FeedCursor Cursor { get; init; } = FeedCursor.Beginning();

        public bool Equals(Snapshot other) => AppendedRecords == other.AppendedRecords && Text == other.Text;

        public override int GetHashCode() => HashCode.Combine(AppendedRecords, Text);
    }
}
