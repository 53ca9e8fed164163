namespace Kv4.Tests.Server;

/// <summary>`Kv4:Log:SegmentSizeMB` reaches the store, and a bad value stops the start.</summary>
[Trait("Category", "Integration")]
public sealed class LogSegmentSettingTests
{
    [Fact]
    public async Task The_setting_sizes_the_logs_segments()
    {
        await using var server = await Kv4TestServer.StartAsync(["--Kv4:Log:SegmentSizeMB=16"]);
        using var client = server.SystemClient();
        (await client.PutReplyAsync("/_data/p", "{\"k\":\"a\",\"v\":1}")).IsOk();
        Assert.Equal("16", (await File.ReadAllTextAsync(Path.Combine(server.DataDir, "log", "segment-size-mb"))).Trim());
    }

    [Theory]
    [InlineData("--Kv4:Log:SegmentSizeMB=8")]
    [InlineData("--Kv4:Log:SegmentSizeMB=24")]
    [InlineData("--Kv4:Log:SegmentSizeMB=0")]
    public async Task A_bad_segment_size_stops_the_start(string knob)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "kv4-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => Kv4TestServer.StartAsync([knob], dataDir: dataDir));
        }
        finally
        {
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }
}
