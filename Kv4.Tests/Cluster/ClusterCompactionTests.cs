using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Tests.Cli;
using Xunit.Abstractions;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Retention on a cluster of real processes: every node compacts its copies by the same rules while it serves; a node
/// killed before the others compacted away what it lacks comes back, rebases each such partition on its primary's
/// retained versions (the partitions whose missing records its primary no longer holds in memory either) and then
/// leads its share, answering what the primaries answered (latest values, the retained history, no deleted key
/// alive); after a failover onto those copies too; and a backup of the compacted cluster restores into a single node
/// that holds the same. The engine's side, a key forgotten entirely included, is RebaseTests.
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class ClusterCompactionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int SmallKeys = 24;
    private const int Zombies = 24;
    private ClusterProcesses _cluster = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(3, new Dictionary<string, string>
        {
            ["Kv4__Log__SegmentSizeMB"] = "16",
            ["Kv4__Retention__Layers__data__MaxVersions"] = "2",
            // A key deleted under gone/ leaves a node entirely after two passes: its older version, then its tombstone.
            ["Kv4__Retention__Layers__data__Paths__0__Prefix"] = "gone",
            ["Kv4__Retention__Layers__data__Paths__0__MaxVersions"] = "1",
            ["Kv4__Compaction__IntervalSeconds"] = "1",
            ["Kv4__Compaction__MinReclaimPercent"] = "1",
        });
        _secret = await _cluster.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>A write, tried again while a partition fails over (503): the test's model needs each to land.</summary>
    private async Task WriteAsync(string node, HttpMethod method, string pathAndQuery, string? body = null)
    {
        var deadline = DateTime.UtcNow + ClusterProcesses.Patience;
        while (true)
        {
            var (status, reply) = await _cluster.SendAsync(node, method, pathAndQuery, body, "elena", _secret);
            if (status == HttpStatusCode.OK) return;
            Assert.True(status == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline, $"{method} {pathAndQuery} on {node}: {status} {reply}");
        }
    }

    private Task PutAsync(string node, string path, string key, string json) =>
        WriteAsync(node, HttpMethod.Put, $"/_data/{path}", $"{{\"k\":\"{key}\",\"v\":{json}}}");

    /// <summary>A key's values, newest first, as read through <paramref name="node"/> (none: not found).</summary>
    private async Task<List<string>> HistoryAsync(string node, string path, string key)
    {
        var (status, body) = await _cluster.SendAsync(node, HttpMethod.Get, $"/_data/{path}?k={key}&time_series=1&format=full&limit=100", user: "elena", secret: _secret);
        if (status == HttpStatusCode.NotFound) return [];
        Assert.True(status == HttpStatusCode.OK, $"history of {path} through {node}: {status} {body}");
        var values = body.GetProperty("v").EnumerateArray().Select(e => e.GetProperty("v").GetRawText()).ToList();
        // A write tried again after `unavailable` may have landed twice: one version for the model.
        return [.. values.Where((v, i) => i == 0 || values[i - 1] != v)];
    }

    private async Task<long> ReclaimedAsync(string node)
    {
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(_cluster[node].Url + "/metrics");
        var match = ReclaimedMetric().Match(metrics);
        return match.Success ? long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex(@"(?m)^kv4_compaction_reclaimed_bytes_total (\d+)")]
    private static partial Regex ReclaimedMetric();

    /// <summary>What every node must answer: small keys' newest two, churn keys' latest, zombies gone.</summary>
    private async Task CheckAsync(string node, int churnWrites)
    {
        for (var i = 0; i < SmallKeys; i++)
        {
            var history = await HistoryAsync(node, $"small/s{i}", "k");
            Assert.True(history.Count >= 2 && history[0] == "\"v4\"" && history[1] == "\"v3\"",
                $"small/s{i} through {node}: [{string.Join(", ", history)}]");
        }
        for (var i = 0; i < Zombies; i++)
        {
            // Gone: forgotten entirely where it was compacted, a tombstone on a copy that took the records from memory and
            // has not compacted them yet; alive nowhere.
            var (status, _) = await _cluster.SendAsync(node, HttpMethod.Get, $"/_data/gone/z{i}?k=z", user: "elena", secret: _secret);
            Assert.Equal(HttpStatusCode.NotFound, status);
            var history = await HistoryAsync(node, $"gone/z{i}", "z");
            Assert.True(history.Count == 0 || history[0] == "null", $"gone/z{i} through {node}: [{string.Join(", ", history)}]");
        }
        for (var c = 0; c < 4; c++)
        {
            var (status, body) = await _cluster.SendAsync(node, HttpMethod.Get, $"/_data/churn?k=c{c}", user: "elena", secret: _secret);
            Assert.True(status == HttpStatusCode.OK, $"churn c{c} through {node}: {status}");
            Assert.Equal(churnWrites - 4 + c, body.GetProperty("v").GetProperty("i").GetInt32());
        }
    }

    private Task WaitBalancedAsync(string what) => ClusterProcesses.WaitUntilAsync(async () =>
    {
        var (_, cluster) = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster");
        if (cluster.GetProperty("v").GetProperty("moving").GetInt32() != 0) return false;
        var partitions = await _cluster.PartitionsAsync("n1");
        return partitions.All(p => p.GetProperty("replicas").GetArrayLength() == 2 && p.GetProperty("in_sync").GetArrayLength() == 3)
            && partitions.Any(p => p.GetProperty("primary").GetString() == "n3");
    }, what);

    [Fact]
    public async Task A_node_back_after_the_others_compacted_rebases_on_what_they_retained_and_answers_as_they_did()
    {
        // Before n3 goes: two versions of each small key, and zombies that n3 will still hold alive.
        for (var v = 1; v <= 2; v++)
            for (var i = 0; i < SmallKeys; i++) await PutAsync($"n{1 + i % 3}", $"small/s{i}", "k", $"\"v{v}\"");
        for (var i = 0; i < Zombies; i++) await PutAsync("n1", $"gone/z{i}", "z", "\"alive\"");
        await _cluster.KillAsync("n3");

        // While it is away: the zombies die, the small keys get two more versions, and ~64 MiB of churn fills segments.
        for (var i = 0; i < Zombies; i++) await WriteAsync("n2", HttpMethod.Delete, $"/_data/gone/z{i}?k=z");
        for (var v = 3; v <= 4; v++)
            for (var i = 0; i < SmallKeys; i++) await PutAsync($"n{1 + i % 2}", $"small/s{i}", "k", $"\"v{v}\"");
        var pad = new string('x', 200_000);
        const int churnWrites = 320;
        for (var n = 0; n < churnWrites; n++) await PutAsync($"n{1 + n % 2}", "churn", $"c{n % 4}", $"{{\"i\":{n},\"pad\":\"{pad}\"}}");

        // The survivors compact until the zombies have left them entirely.
        await ClusterProcesses.WaitUntilAsync(async () =>
        {
            for (var i = 0; i < Zombies; i++)
                if ((await HistoryAsync("n1", $"gone/z{i}", "z")).Count > 0) return false;
            return true;
        }, "the survivors' compactions took every zombie away, tombstone and all");
        var reclaimed = (N1: await ReclaimedAsync("n1"), N2: await ReclaimedAsync("n2"));
        output.WriteLine($"reclaimed before n3 returns: n1 {reclaimed.N1 >> 20} MiB, n2 {reclaimed.N2 >> 20} MiB");
        Assert.True(reclaimed.N1 >= 16 << 20 && reclaimed.N2 >= 16 << 20, $"reclaimed {reclaimed}");

        // n3 returns: it must rebase the partitions whose records it lacks, then leads its share again.
        await _cluster.RestartAsync("n3");
        await WaitBalancedAsync("n3 back in every in-sync set, leading its share");
        var log = _cluster["n3"].Process!.Output;
        var rebased = Regex.Matches(log, "rebased on").Count;
        output.WriteLine($"n3 rebased {rebased} partitions");
        Assert.True(rebased > 0, "n3 rebased no partition");
        // Some zombie lives in a partition n3 leads now: read from its rebased copy.
        var partitions = await _cluster.PartitionsAsync("n1");
        Assert.Contains(Enumerable.Range(0, Zombies),
            i => partitions[ClusterWriters.PartitionOf("elena", $"gone/z{i}")].GetProperty("primary").GetString() == "n3");
        foreach (var node in new[] { "n1", "n2", "n3" }) await CheckAsync(node, churnWrites);

        // A failover onto the rebased copies: n1 dies; n2 and n3 answer the same.
        await _cluster.KillAsync("n1");
        await ClusterProcesses.WaitUntilAsync(async () => (await _cluster.PartitionsAsync("n2")).All(p => p.GetProperty("primary").GetString() is "n2" or "n3"),
            "n1's partitions led by n2 and n3");
        await CheckAsync("n3", churnWrites);
        await _cluster.RestartAsync("n1");
        await WaitBalancedAsync("n1 back");

        // A backup of the compacted cluster (taken again if a compaction ran under it) restores into one node.
        using var work = new Kv4.Tests.Engine.Support.TempDirectory("cluster-compaction-backup");
        var file = Path.Combine(work.Path, "cluster.backup");
        var login = new Dictionary<string, string> { ["KV4_URL"] = _cluster["n2"].Url, ["KV4_USER"] = "$sys", ["KV4_SECRET"] = ClusterProcesses.Secret };
        CliRun backup = null!;
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            backup = await Kv4Cli.RunAsync(login, "backup", file);
            if (backup.ExitCode == 0) break;
            output.WriteLine($"backup attempt {attempt}: {backup.Err}");
        }
        backup.Ok();
        var restoredDir = Path.Combine(work.Path, "single");
        var restore = await ServerCommand.RunAsync("restore", file, $"--Kv4:DataDir={restoredDir}");
        Assert.True(restore.ExitCode == 0, restore.Err);
        await using var single = Kv4Store.Open(new StoreOptions { DataDirectory = restoredDir });
        for (var i = 0; i < SmallKeys; i++)
        {
            var history = (await single.GetHistoryAsync(new EntryAddress("elena", "data", $"small/s{i}", "k"), HistoryQuery.All))
                .Select(h => System.Text.Encoding.UTF8.GetString(h.Value!.Value.Span)).Distinct().ToList();
            Assert.True(history.Count >= 2 && history[0] == "\"v4\"" && history[1] == "\"v3\"", $"restored small/s{i}: [{string.Join(", ", history)}]");
        }
        for (var i = 0; i < Zombies; i++)
            Assert.False(single.TryGetLatest(new EntryAddress("elena", "data", $"gone/z{i}", "z"), out _), $"restored gone/z{i} is alive");
    }
}
