using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Kv4.Tests.Cluster;

/// <summary>
/// A watch on a cluster node streams changes written through any node, and goes on across a failover of the
/// partitions it watches, and while they move to a joining node and off a leaving one, with no gap and no duplicate; a client whose connection drops resumes from its last cursor
/// on another node, again with no gap and no duplicate.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterWatchTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ClusterProcesses _cluster = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(3);
        _secret = await _cluster.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>An SSE watch: each event's cursor and (path, n), until cancelled or the stream ends.</summary>
    private async Task WatchAsync(string node, string? since, List<(string Cursor, string Path, int N)> events, Func<int, bool> stopAfter,
        CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_cluster[node].Url}/_data/feed?watch=1" + (since is null ? "" : $"&since={since}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"elena:{_secret}")));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        string? id = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                using var change = JsonDocument.Parse(line[6..]);
                var root = change.RootElement;
                lock (events) events.Add((id!, root.GetProperty("path").GetString()!, root.GetProperty("v").GetProperty("n").GetInt32()));
                if (stopAfter(events.Count)) return;
            }
        }
    }

    private async Task<int> WriteAsync(string node, string path, int n)
    {
        var put = await _cluster.SendAsync(node, HttpMethod.Put, $"/_data/{path}", $"{{\"k\":\"x\",\"v\":{{\"n\":{n}}}}}", "elena", _secret);
        return (int)put.Status;
    }

    [Fact]
    public async Task A_watch_goes_on_across_a_failover_and_a_reconnect_with_no_gap_and_no_duplicate()
    {
        const int Paths = 8;
        var events = new List<(string Cursor, string Path, int N)>();
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        // The watcher stays on n2; the partition killed is led by another node.
        var watch = Task.Run(() => WatchAsync("n2", "0", events, _ => false, watching.Token));

        var acked = new List<(string Path, int N)>();
        var doubtful = new List<(string Path, int N)>();
        var victim = "";
        for (var n = 0; n < 60; n++)
        {
            if (n == 20)
            {
                var (_, partitions) = await _cluster.SendAsync("n2", HttpMethod.Get, "/_cluster/partitions");
                victim = Enumerable.Range(0, Paths).Select(i => partitions.GetProperty("v")[ClusterWriters.PartitionOf("elena", $"feed/p{i}")].GetProperty("primary").GetString()!)
                    .First(primary => primary != "n2");
                await _cluster.KillAsync(victim);
                output.WriteLine($"killed {victim} after {acked.Count} writes");
            }
            for (var i = 0; i < Paths; i++)
            {
                var path = $"feed/p{i}";
                var live = new[] { "n1", "n2", "n3" }.Where(name => _cluster[name].Process is not null).ToArray();
                var through = live[(n + i) % live.Length];
                var status = await WriteAsync(through, path, n);
                if (status == 200) acked.Add((path, n));
                else doubtful.Add((path, n));
            }
        }
        var seen = await SeenOnceInOrderAsync(events, acked, doubtful, watch, watching);

        // Resume from the middle on another node: exactly the rest.
        var middle = seen[seen.Count / 2];
        var rest = new List<(string Cursor, string Path, int N)>();
        using var resuming = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var expected = seen.Count - seen.Count / 2 - 1;
        await WatchAsync("n1" == victim ? "n3" : "n1", middle.Cursor, rest, count => count >= expected, resuming.Token);
        Assert.Equal(seen.Skip(seen.Count / 2 + 1).Select(e => (e.Path, e.N)).Order(), rest.Select(e => (e.Path, e.N)).Order());
    }

    [Fact]
    public async Task A_watch_goes_on_while_the_partitions_it_watches_move_to_a_joining_node_and_off_a_leaving_one()
    {
        // Half the paths in partitions n3 leads (they must move off it), half elsewhere (j4 may take them).
        var (_, partitions) = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster/partitions");
        string PrimaryOf(string path) => partitions.GetProperty("v")[ClusterWriters.PartitionOf("elena", path)].GetProperty("primary").GetString()!;
        var candidates = Enumerable.Range(0, 1000).Select(i => $"feed/m{i}").ToList();
        string[] paths = [.. candidates.Where(p => PrimaryOf(p) == "n3").Take(4), .. candidates.Where(p => PrimaryOf(p) != "n3").Take(4)];
        Assert.Equal(8, paths.Length);
        var events = new List<(string Cursor, string Path, int N)>();
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        var watch = Task.Run(() => WatchAsync("n1", "0", events, _ => false, watching.Token));

        var acked = new List<(string Path, int N)>();
        var doubtful = new List<(string Path, int N)>();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
                for (var i = 0; i < paths.Length; i++)
                {
                    var path = paths[i];
                    var status = await WriteAsync((n + i) % 2 == 0 ? "n1" : "n2", path, n);
                    lock (acked) (status == 200 ? acked : doubtful).Add((path, n));
                }
        });
        int Acked() { lock (acked) return acked.Count; }

        await ClusterProcesses.WaitUntilAsync(() => Task.FromResult(Acked() >= 80), "writes before the join");
        await _cluster.JoinAsync("j4", "n2");
        await ClusterProcesses.WaitUntilAsync(async () => (await PrimariesAsync()).Contains("j4"), "j4 leads partitions");
        var atJoin = Acked();
        await ClusterProcesses.WaitUntilAsync(() => Task.FromResult(Acked() >= atJoin + 80), "writes after the join");
        var decommission = await _cluster.SendAsync("n2", HttpMethod.Delete, "/_cluster/nodes?k=n3");
        Assert.True(decommission.Status == HttpStatusCode.OK, decommission.Body.GetRawText());
        await _cluster.WaitLeftAsync("n3", askedOn: "n1");
        var atLeave = Acked();
        await ClusterProcesses.WaitUntilAsync(() => Task.FromResult(Acked() >= atLeave + 80), "writes after n3 left");
        await stop.CancelAsync();
        await writer;

        List<(string Path, int N)> written;
        lock (acked) written = [.. acked];
        await SeenOnceInOrderAsync(events, written, doubtful, watch, watching);
        (_, partitions) = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster/partitions");
        Assert.All(paths.Take(4), path => Assert.NotEqual("n3", PrimaryOf(path)));
    }

    /// <summary>
    /// Waits until the watch has seen every acknowledged write, stops it, and checks what it saw: each write once, none
    /// that was never written, each path's writes in their order. Answers the events.
    /// </summary>
    private async Task<List<(string Cursor, string Path, int N)>> SeenOnceInOrderAsync(List<(string Cursor, string Path, int N)> events,
        List<(string Path, int N)> acked, List<(string Path, int N)> doubtful, Task watch, CancellationTokenSource watching)
    {
        await ClusterProcesses.WaitUntilAsync(() =>
        {
            lock (events) return Task.FromResult(acked.All(a => events.Any(e => e.Path == a.Path && e.N == a.N)));
        }, "every acknowledged write seen by the watch");
        await watching.CancelAsync();
        try { await watch; }
        catch (OperationCanceledException) { }
        List<(string Cursor, string Path, int N)> seen;
        lock (events) seen = [.. events];
        output.WriteLine($"{acked.Count} acknowledged, {doubtful.Count} in doubt, {seen.Count} events");
        Assert.Equal(seen.Count, seen.Select(e => (e.Path, e.N)).Distinct().Count());
        Assert.All(seen, e => Assert.True(acked.Contains((e.Path, e.N)) || doubtful.Contains((e.Path, e.N)), $"{e} was never written"));
        foreach (var group in seen.GroupBy(e => e.Path))
        {
            var ns = group.Select(e => e.N).ToList();
            Assert.Equal(ns.Order(), ns);
        }
        return seen;
    }

    private async Task<HashSet<string>> PrimariesAsync()
    {
        var (_, partitions) = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster/partitions");
        return [.. partitions.GetProperty("v").EnumerateArray().Select(p => p.GetProperty("primary").GetString() ?? "")];
    }
}
