using System.Text;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>`StoreOptions.LogSegmentSizeMB` (`Kv4:Log:SegmentSizeMB`): small segments, a size fixed at creation, bad sizes refused.</summary>
[Trait("Category", "Integration")]
public sealed class LogSegmentTests
{
    private static string LogDir(TempDirectory directory) => Path.Combine(directory.Path, "log");

    private static int SegmentFiles(TempDirectory directory) => Directory.EnumerateFiles(LogDir(directory), "kv4.log.*").Count();

    private static byte[] Big(int i, int version) => Encoding.UTF8.GetBytes($"{{\"i\":{i},\"v\":{version},\"pad\":\"{new string((char)('a' + i % 26), 500_000)}\"}}");

    [Fact]
    public async Task Sixteen_MiB_segments_cut_the_log_into_several_files_and_reopen_with_everything()
    {
        using var directory = new TempDirectory("segments");
        var options = new StoreOptions { DataDirectory = directory.Path, LogSegmentSizeMB = 16, Durability = DurabilityMode.Sync };
        var store = Kv4Store.Open(options);
        try
        {
            // About 40 MiB: two versions of 40 keys of half a MiB each.
            for (var version = 1; version <= 2; version++)
                for (var i = 0; i < 40; i++)
                    await store.PutAsync(new EntryAddress("b1", "data", "big", $"k{i}"), Big(i, version), "t");
            Assert.True(SegmentFiles(directory) >= 3, $"{SegmentFiles(directory)} segment files");
            Assert.Equal("16", File.ReadAllText(Path.Combine(LogDir(directory), "segment-size-mb")).Trim());

            await store.DisposeAsync();
            store = Kv4Store.Open(options);
            for (var i = 0; i < 40; i++)
            {
                Assert.True(store.TryGetLatest(new EntryAddress("b1", "data", "big", $"k{i}"), out var latest));
                Assert.Equal(Big(i, 2), latest.Json.ToArray());
                // The first versions are in the first segment files: read back through the chains.
                var history = await store.GetHistoryAsync(new EntryAddress("b1", "data", "big", $"k{i}"), HistoryQuery.All);
                Assert.Equal(2, history.Count);
                Assert.Equal(Big(i, 1), history[1].Value!.Value.ToArray());
            }
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_log_opens_only_with_the_segment_size_it_was_created_with()
    {
        using var directory = new TempDirectory("segments");
        var address = new EntryAddress("b1", "data", "p", "k");
        await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path, LogSegmentSizeMB = 16 }))
            await store.PutAsync(address, "1"u8.ToArray(), "t");

        var refused = Assert.Throws<InvalidOperationException>(() => Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path }));
        Assert.Contains("created with 16 MiB segments", refused.Message);

        await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path, LogSegmentSizeMB = 16 }))
            Assert.True(store.TryGetLatest(address, out _));
    }

    [Fact]
    public async Task A_log_from_before_the_setting_is_taken_as_written_with_the_default_size()
    {
        using var directory = new TempDirectory("segments");
        var address = new EntryAddress("b1", "data", "p", "k");
        await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path }))
            await store.PutAsync(address, "1"u8.ToArray(), "t");
        File.Delete(Path.Combine(LogDir(directory), "segment-size-mb"));

        Assert.Throws<InvalidOperationException>(() => Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path, LogSegmentSizeMB = 16 }));
        await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path }))
            Assert.True(store.TryGetLatest(address, out _));
        Assert.Equal("1024", File.ReadAllText(Path.Combine(LogDir(directory), "segment-size-mb")).Trim());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(24)]
    [InlineData(100)]
    [InlineData(1 << 17)]
    public void A_size_that_is_not_a_power_of_two_from_16_MiB_is_refused(int sizeMB)
    {
        using var directory = new TempDirectory("segments");
        Assert.Throws<ArgumentOutOfRangeException>(() => Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path, LogSegmentSizeMB = sizeMB }));
        Assert.False(File.Exists(Path.Combine(LogDir(directory), "segment-size-mb")));
    }

    [Fact]
    public void A_segment_smaller_than_a_log_page_is_refused()
    {
        using var directory = new TempDirectory("segments");
        // A 16 MiB value needs a 64 MiB page.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path, LogSegmentSizeMB = 16, MaxValueBytes = 16 << 20 }));
        Assert.Contains("at least one log page", error.Message);
    }
}
