using System.Diagnostics;
using Xunit.Abstractions;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Sixty seconds of writes on a three-node cluster while a node is killed (SIGKILL) and started again every ten
/// seconds, in turn: the control plane keeps every partition led, no partition is left stuck (all three replicas back
/// in sync at the end), no node process dies on its own, and no acknowledged write is lost.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterSoakTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Writers = 6;
    private ClusterProcesses _cluster = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(3);
        _secret = await _cluster.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_minute_of_writes_with_a_node_restarted_every_ten_seconds_leaves_no_partition_stuck()
    {
        var writers = new ClusterWriters(_cluster, "elena", _secret);
        using var stop = new CancellationTokenSource();
        var running = writers.RunAsync(Writers, ["n1", "n2", "n3"], stop.Token);
        var soak = Stopwatch.StartNew();
        for (var round = 0; soak.Elapsed < TimeSpan.FromSeconds(60); round++)
        {
            var started = soak.Elapsed;
            var node = $"n{round % 3 + 1}";
            await _cluster.KillAsync(node);
            await _cluster.RestartAsync(node);
            output.WriteLine($"{started.TotalSeconds:F1} s: {node} killed and back in {(soak.Elapsed - started).TotalSeconds:F1} s; {writers.Acks.Count} writes acknowledged");
            foreach (var other in _cluster.Nodes)
                Assert.False(other.Process?.HasExited ?? false, $"{other.Name} exited on its own:\n{other.Process?.Output}");
            var rest = TimeSpan.FromSeconds(10) - (soak.Elapsed - started);
            if (rest > TimeSpan.Zero) await Task.Delay(rest);
        }
        stop.Cancel();
        await running;

        await ClusterProcesses.WaitUntilAsync(async () =>
        {
            var (_, body) = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster/partitions");
            return body.GetProperty("v").EnumerateArray().All(p => p.GetProperty("primary").ValueKind == System.Text.Json.JsonValueKind.String
                && p.GetProperty("in_sync").GetArrayLength() == 3);
        }, "every partition led, with three in-sync replicas", TimeSpan.FromSeconds(60));
        foreach (var node in new[] { "n1", "n2", "n3" }) await writers.CheckAsync(node, Writers);
        output.WriteLine($"acknowledged {writers.Acks.Count}, unknown outcomes {writers.Unknown.Count}; " +
            $"longest outage {(writers.Outages.Count == 0 ? 0 : writers.Outages.Max(o => o.RecoveredAtMs - o.FailedAtMs))} ms");
    }
}
