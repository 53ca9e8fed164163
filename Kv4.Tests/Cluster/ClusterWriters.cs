using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Kv4.Engine.Partitioning;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Clients of a cluster in a test: each writes its own sequence of values to keys spread over many partitions,
/// through a node of its own, and moves to another node when its node stops answering (as a client that asks
/// `_host` again would). Every answer is kept: an acknowledged write (200 with its `_ver_`), and a write whose
/// outcome the client cannot know (no answer, `unavailable`), which it sends again until acknowledged.
/// </summary>
internal sealed class ClusterWriters(ClusterProcesses cluster, string account, string secret)
{
    public sealed record Ack(int Writer, int N, string Path, string Key, string Version, long AtMs);

    private readonly ConcurrentBag<Ack> _acks = [];
    private readonly ConcurrentBag<(int Writer, int N)> _unknown = [];
    private readonly ConcurrentDictionary<int, long> _lastFailureMs = new();
    private readonly ConcurrentQueue<(int Partition, long FailedAtMs, long RecoveredAtMs)> _outages = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public IReadOnlyCollection<Ack> Acks => _acks;

    public IReadOnlyCollection<(int Writer, int N)> Unknown => _unknown;

    /// <summary>Per partition that failed a write: from its first failure to its next acknowledged write, in ms.</summary>
    public IReadOnlyCollection<(int Partition, long FailedAtMs, long RecoveredAtMs)> Outages => _outages;

    public long NowMs => _clock.ElapsedMilliseconds;

    public static string PathOf(int writer, int n) => $"w{writer}/p{n % 8}";

    public static int PartitionOf(string bucket, string path) => new PartitionMap(64).PartitionOf(bucket, "data", path);

    /// <summary>Runs <paramref name="writers"/> writers until <paramref name="stop"/> fires; writer w starts on node <c>nodes[w % nodes.Length]</c>.</summary>
    public async Task RunAsync(int writers, string[] nodes, CancellationToken stop)
    {
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(w, nodes, stop))).ToArray();
        await Task.WhenAll(tasks);
    }

    private async Task WriteAsync(int writer, string[] nodes, CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{account}:{secret}")));
        var node = writer % nodes.Length;
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var path = PathOf(writer, n);
            var key = $"k{writer}";
            var partition = PartitionOf(account, path);
            while (!stop.IsCancellationRequested)
            {
                var target = cluster[nodes[node % nodes.Length]];
                if (target.Process is null || target.Frozen)
                {
                    node++;
                    continue;
                }
                try
                {
                    using var content = new StringContent($"{{\"k\":\"{key}\",\"v\":{{\"w\":{writer},\"n\":{n}}}}}", Encoding.UTF8, "application/json");
                    using var response = await http.PutAsync($"{target.Url}/_data/{path}", content, CancellationToken.None);
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        using var document = JsonDocument.Parse(body);
                        _acks.Add(new Ack(writer, n, path, key, document.RootElement.GetProperty("v").GetProperty("_ver_").GetString()!, NowMs));
                        if (_lastFailureMs.TryRemove(partition, out var failedAt)) _outages.Enqueue((partition, failedAt, NowMs));
                        break;
                    }
                    if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                        throw new InvalidOperationException($"writer {writer}: {(int)response.StatusCode} {body}");
                    _unknown.Add((writer, n));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // The node went away (or froze): the outcome is unknown; ask another node.
                    _unknown.Add((writer, n));
                    node++;
                }
                _lastFailureMs.TryAdd(partition, NowMs);
                try { await Task.Delay(20, stop); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Reads every key's whole history through <paramref name="node"/> and checks what the clients were told: every
    /// acknowledged write is there with the version it was acknowledged with; each key's values come in the order its
    /// writer made them; every value was one a writer really sent. Answers the versions read, per key.
    /// </summary>
    public async Task<Dictionary<(string Path, string Key), List<(int N, string Version)>>> CheckAsync(string node, int writers)
    {
        // Only what was acknowledged before the histories are read (the writers may still be writing).
        var acks = _acks.ToArray();
        var histories = new Dictionary<(string Path, string Key), List<(int N, string Version)>>();
        for (var writer = 0; writer < writers; writer++)
        {
            for (var p = 0; p < 8; p++)
            {
                var path = $"w{writer}/p{p}";
                var key = $"k{writer}";
                var (status, body) = await cluster.SendAsync(node, HttpMethod.Get, $"/_data/{path}?k={key}&time_series=1&format=full&limit=1000",
                    user: account, secret: secret);
                if (status == HttpStatusCode.NotFound) continue;
                Assert.True(status == HttpStatusCode.OK, $"history of {path}: {status} {body}");
                var versions = new List<(int N, string Version)>();
                foreach (var entry in body.GetProperty("v").EnumerateArray())
                {
                    var value = entry.GetProperty("v");
                    Assert.Equal(writer, value.GetProperty("w").GetInt32());
                    versions.Add((value.GetProperty("n").GetInt32(), entry.GetProperty("_ver_").GetString()!));
                }
                versions.Reverse(); // oldest first
                for (var i = 1; i < versions.Count; i++)
                    Assert.True(versions[i].N >= versions[i - 1].N, $"{path}: value {versions[i].N} after {versions[i - 1].N}");
                histories[(path, key)] = versions;
            }
        }
        foreach (var ack in acks)
        {
            if (histories.TryGetValue((ack.Path, ack.Key), out var versions) && versions.Contains((ack.N, ack.Version))) continue;
            var latest = await cluster.SendAsync(node, HttpMethod.Get, $"/_data/{ack.Path}?k={ack.Key}", user: account, secret: secret);
            var partitions = await cluster.SendAsync(node, HttpMethod.Get, "/_cluster/partitions");
            Assert.Fail($"acknowledged write {ack} is missing from {ack.Path}'s history read through {node}: " +
                $"[{string.Join(", ", versions ?? [])}]; latest {latest.Body}; partition {PartitionOf(account, ack.Path)}: " +
                $"{partitions.Body.GetProperty("v")[PartitionOf(account, ack.Path)]}");
        }
        return histories;
    }
}
