using System.Net;
using System.Text;
using System.Text.Json;
using Kv4.Engine;
using Kv4.Engine.Backups;
using Kv4.Engine.Model;
using Kv4.Engine.Retention;
using Kv4.Tests.Engine.Support;
using Kv4.Tests.Support;

namespace Kv4.Tests.Server;

/// <summary>
/// kill -9 of a real server while it compacts. The server runs with 16 MiB segments, `data` keeping the last 2 versions,
/// sync durability and a compaction every second; one client overwrites a big key (so head segments fill with versions
/// outside retention and compactions keep running) and, every few writes, a version of one of 20 small keys. The test
/// kills the process (SIGKILL) at a point it does not choose relative to the compactions, three rounds on one data
/// directory, and after each reopens the directory itself: every small key's two newest acknowledged versions are its
/// history's newest (after at most the one write that was in flight), with their values, and its latest value is the
/// newest; the log did get compacted (its head moved) over the rounds; and a backup of what the kill left restores to
/// the same histories.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CompactionCrashTests
{
    private const int SmallKeys = 20;

    private static RetentionPolicy Policy() =>
        RetentionPolicy.Create(RetentionRule.KeepEverything, [new LayerRetention("data", new RetentionRule(2, null), [])], out _)!;

    [Fact]
    public async Task No_retained_version_is_lost_to_a_kill_during_compaction()
    {
        using var work = new TempDirectory("compaction-crash");
        var dataDir = Path.Combine(work.Path, "data");
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var acked = new Dictionary<string, List<string>>();
        var inFlight = new Dictionary<string, string>();
        long headAfterFirst = -1, head = 0;
        for (var round = 1; round <= 3; round++)
        {
            await using (var server = ServerProcess.Start(work.Path, new Dictionary<string, string>
            {
                ["KV4_SYS_SECRET"] = secret,
                ["Kv4__DataDir"] = dataDir,
                ["Kv4__Durability"] = "sync",
                ["Kv4__Log__SegmentSizeMB"] = "16",
                ["Kv4__Retention__Layers__data__MaxVersions"] = "2",
                ["Kv4__Compaction__IntervalSeconds"] = "1",
                ["Kv4__Compaction__MinReclaimPercent"] = "1",
            }))
            {
                using var client = await ReadyClientAsync(server, secret);
                // Enough to fill segments and let compactions run, then a kill at a point that varies by round.
                var writes = 260 + 70 * round;
                var pad = new string((char)('a' + round), 200_000);
                for (var i = 0; i < writes; i++)
                {
                    await PutAsync(client, "churn", "big", $"{{\"i\":{i},\"pad\":\"{pad}\"}}");
                    if (i % 5 != 0) continue;
                    var key = $"k{i / 5 % SmallKeys}";
                    var value = $"\"r{round}-{i}\"";
                    inFlight[key] = value;
                    await PutAsync(client, "small", key, value);
                    inFlight.Remove(key);
                    (acked.TryGetValue(key, out var list) ? list : acked[key] = []).Insert(0, value);
                }
                // One more write in flight on the way down, then SIGKILL: nothing flushed, nothing closed.
                var last = $"k{round}";
                inFlight[last] = $"\"r{round}-last\"";
                var pending = PutAsync(client, "small", last, inFlight[last]);
                System.Diagnostics.Process.GetProcessById(server.Id).Kill();
                try { await pending; }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException) { }
            }

            await using var store = Kv4Store.Open(new StoreOptions { DataDirectory = dataDir, LogSegmentSizeMB = 16, Retention = Policy() });
            head = store.LogBeginAddress;
            if (round == 1) headAfterFirst = head;
            foreach (var (key, versions) in acked)
            {
                var address = new EntryAddress("$sys", "data", "small", key);
                var history = (await store.GetHistoryAsync(address, HistoryQuery.All)).Select(h => Encoding.UTF8.GetString(h.Value!.Value.Span)).ToList();
                if (inFlight.TryGetValue(key, out var maybe) && history.Count > 0 && history[0] == maybe) history.RemoveAt(0);
                var what = $"round {round}, {key}: acknowledged {string.Join(",", versions.Take(3))}, history {string.Join(",", history)}";
                Assert.True(history.Count >= Math.Min(2, versions.Count), what);
                for (var i = 0; i < Math.Min(2, versions.Count); i++) Assert.True(versions[i] == history[i], what);
                Assert.True(store.TryGetLatest(address, out var latest), what);
                var newest = Encoding.UTF8.GetString(latest.Json.Span);
                Assert.True(newest == versions[0] || newest == maybe, what);
                if (newest == maybe) versions.Insert(0, maybe!);
            }
            inFlight.Clear();

            // What the kill left (carries a cut-short compaction wrote among them) backs up and restores to the same histories.
            var backup = new MemoryStream();
            await store.WriteBackupAsync(backup);
            backup.Position = 0;
            var restoredDir = Path.Combine(work.Path, $"restored{round}");
            await StoreRestore.RestoreAsync(backup, new StoreOptions { DataDirectory = restoredDir, LogSegmentSizeMB = 16, Retention = Policy() });
            await using var copy = Kv4Store.Open(new StoreOptions { DataDirectory = restoredDir, LogSegmentSizeMB = 16, Retention = Policy() });
            Assert.Equal(store.CurrentCursor().ToString(), copy.CurrentCursor().ToString());
            foreach (var key in acked.Keys.Append("big"))
            {
                var address = new EntryAddress("$sys", "data", key == "big" ? "churn" : "small", key);
                Assert.Equal((await store.GetHistoryAsync(address, HistoryQuery.All)).Select(Engine.BackupTests.Describe),
                    (await copy.GetHistoryAsync(address, HistoryQuery.All)).Select(Engine.BackupTests.Describe));
            }
        }
        Assert.True(head > 64, $"the log was never compacted (its head is {head})");
        Assert.True(headAfterFirst >= 0);
    }

    private static async Task<HttpClient> ReadyClientAsync(ServerProcess server, string secret)
    {
        const string listening = "Now listening on: ";
        var line = await server.WaitForLineAsync(l => l.Contains("\"Message\":\"" + listening, StringComparison.Ordinal));
        Uri address;
        using (var json = JsonDocument.Parse(line))
            address = new Uri(json.RootElement.GetProperty("Message").GetString()![listening.Length..]);
        var client = new HttpClient { BaseAddress = address, Timeout = ServerProcess.Patience };
        client.DefaultRequestHeaders.Authorization = System.Net.Http.Headers.AuthenticationHeaderValue.Parse(
            Kv4.Server.Authentication.BasicCredential.Header("$sys", secret));
        using var timeout = new CancellationTokenSource(ServerProcess.Patience);
        while ((await client.GetAsync("/readyz", timeout.Token)).StatusCode != HttpStatusCode.OK)
            await Task.Delay(50, timeout.Token);
        return client;
    }

    private static async Task PutAsync(HttpClient client, string path, string key, string json)
    {
        using var body = new StringContent($"{{\"k\":\"{key}\",\"v\":{json}}}", Encoding.UTF8, "application/json");
        using var reply = await client.PutAsync($"/_data/{path}", body);
        var text = await reply.Content.ReadAsStringAsync();
        Assert.True(reply.StatusCode == HttpStatusCode.OK, $"PUT {path}/{key}: {(int)reply.StatusCode} {text}");
    }
}
