using System.Net;
using System.Text.Json;
using Kv4.Engine;
using Kv4.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Server;

/// <summary>
/// What a client of the real server sees after compaction: a read as of an instant before a key's oldest retained
/// version is history_truncated (410), later instants and the time series answer as before, a watch from before the
/// horizon ends with feed_truncated and the cursor to resume from (which then works), and /metrics shows the log's size
/// and what was reclaimed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CompactionHttpTests
{
    [Fact]
    public async Task After_compaction_old_instants_and_old_cursors_get_clear_errors_and_the_rest_answers_as_before()
    {
        await using var server = await Kv4TestServer.StartAsync(
            ["--Kv4:Log:SegmentSizeMB=16", "--Kv4:Retention:Layers:data:MaxVersions=2", "--Kv4:Compaction:IntervalSeconds=0"]);
        using var sys = server.SystemClient();
        for (var v = 1; v <= 3; v++) (await sys.PutReplyAsync("/_data/rooms/lobby", $$"""{"k":"topic","v":"v{{v}}"}""")).IsOk();
        var series = (await sys.GetReplyAsync("/_data/rooms/lobby?k=topic&time_series=1&format=full")).IsOk().V;
        var instants = series.EnumerateArray().Select(e => e.GetProperty("t").GetInt64()).ToList(); // newest first
        var pad = new string('x', 500_000);
        for (var i = 0; i < 80; i++) (await sys.PutReplyAsync("/_data/churn", $$"""{"k":"big","v":"{{pad}}"}""")).IsOk();

        var store = server.Services.GetRequiredService<EngineLifetime>().Runtime!.Store;
        var result = await store.CompactAsync();
        Assert.Null(result.Skipped);

        // v1 is gone: before v2's instant is history_truncated (v1 shares it at most: also gone); from it on, as before.
        (await sys.GetReplyAsync($"/_data/rooms/lobby?k=topic&at={instants[1] - 1}")).IsError("history_truncated", HttpStatusCode.Gone);
        Assert.Equal("v2", (await sys.GetReplyAsync($"/_data/rooms/lobby?k=topic&at={instants[1]}")).IsOk().V.GetString());
        Assert.Equal("v3", (await sys.GetReplyAsync("/_data/rooms/lobby?k=topic")).IsOk().V.GetString());
        Assert.Equal(2, (await sys.GetReplyAsync("/_data/rooms/lobby?k=topic&time_series=1")).IsOk().V.GetArrayLength());

        // A watch from the beginning: its events were reclaimed; the error names where it can resume.
        string since;
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/_data/rooms?watch=1&since=0"))
        using (var response = await sys.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var text = await reader.ReadToEndAsync();
            Assert.Contains("event: error", text);
            var data = text.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
            using var json = JsonDocument.Parse(data);
            Assert.Equal("feed_truncated", json.RootElement.GetProperty("v").GetString());
            since = json.RootElement.GetProperty("since").GetString()!;
        }
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/_data/rooms?watch=1&since={since}"))
        using (var response = await sys.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            (await sys.PutReplyAsync("/_data/rooms/lobby", """{"k":"topic","v":"v4"}""")).IsOk();
            string? line;
            while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && !line.StartsWith("data: ", StringComparison.Ordinal)) { }
            Assert.NotNull(line);
            Assert.DoesNotContain("\"error\"", line);
            Assert.Contains("v4", line);
        }

        var metrics = await (await server.Client().GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Contains("kv4_engine_log_bytes ", metrics);
        Assert.Contains("kv4_engine_data_bytes ", metrics);
    }
}
