using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Rebalancing on real processes: a fourth node joins a running three-node cluster and takes the partitions the ring
/// gives it (at most 1.5/4 of them move), while writes go on; then a node is decommissioned, its partitions move away
/// and it leaves. After each, every key is read with its whole history through every node.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RebalancingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Writers = 4;
    private ClusterProcesses _cluster = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(3);
        _secret = await _cluster.CreateAccountAsync("elena");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>Until `/_cluster` says no partition is moving and every one has its three replicas in sync.</summary>
    private Task WaitBalancedAsync(string what) => ClusterProcesses.WaitUntilAsync(async () =>
    {
        var (_, cluster) = await _cluster.SendAsync("n1", HttpMethod.Get, "/_cluster");
        if (cluster.GetProperty("v").GetProperty("moving").GetInt32() != 0) return false;
        return (await _cluster.PartitionsAsync("n1")).All(p => Holders(p).Count == 3 && p.GetProperty("in_sync").GetArrayLength() == 3);
    }, what);

    private static HashSet<string> Holders(JsonElement partition) =>
        [partition.GetProperty("primary").GetString()!, .. partition.GetProperty("replicas").EnumerateArray().Select(r => r.GetString()!)];

    [Fact]
    public async Task A_joining_node_takes_its_share_and_a_decommissioned_one_hands_all_over_while_writes_go_on()
    {
        var writers = new ClusterWriters(_cluster, "elena", _secret);
        using var stop = new CancellationTokenSource();
        var running = writers.RunAsync(Writers, ["n1", "n2", "n3"], stop.Token);
        await ClusterProcesses.WaitUntilAsync(() => Task.FromResult(writers.Acks.Count >= 100), "100 writes before the join");
        var before = await _cluster.PartitionsAsync("n1");

        var joined = await _cluster.JoinAsync("j4", "n2");
        await WaitBalancedAsync("j4 holds its share and every partition has three in-sync replicas");
        var after = await _cluster.PartitionsAsync("n1");
        var moved = Enumerable.Range(0, 64).Count(i => !Holders(before[i]).SetEquals(Holders(after[i])));
        var onJ4 = after.Count(p => Holders(p).Contains("j4"));
        output.WriteLine($"after the join: {moved} of 64 partitions changed replicas, j4 holds {onJ4}, leads {after.Count(p => p.GetProperty("primary").GetString() == "j4")}");
        // Replica sets of 3 over 4 nodes: j4 enters about 3/4 of them; each such partition moves one copy.
        Assert.True(moved <= 64 * 3 * 1.5 / 4, $"{moved} partitions moved");
        // Copies only move to the new node.
        for (var i = 0; i < 64; i++) Assert.Subset(new HashSet<string> { "j4" }, Holders(after[i]).Except(Holders(before[i])).ToHashSet());

        await ClusterProcesses.WaitUntilAsync(() => Task.FromResult(writers.Acks.Count >= 300), "writes go on after the join");
        foreach (var node in new[] { "n1", "n2", "n3", "j4" }) await writers.CheckAsync(node, Writers);

        // Decommission n3: its partitions move to the others, then it leaves (and stops).
        var decommission = await _cluster.SendAsync("j4", HttpMethod.Delete, "/_cluster/nodes?k=n3");
        Assert.True(decommission.Status == HttpStatusCode.OK, decommission.Body.GetRawText());
        Assert.Equal("leaving", decommission.Body.GetProperty("v").GetProperty("state").GetString());
        await _cluster.WaitLeftAsync("n3", askedOn: "n1");
        await WaitBalancedAsync("the partitions settled on n1, n2 and j4");
        var final = await _cluster.PartitionsAsync("n1");
        Assert.All(final, p => Assert.DoesNotContain("n3", Holders(p)));

        stop.Cancel();
        await running;
        foreach (var node in new[] { "n1", "n2", "j4" }) await writers.CheckAsync(node, Writers);
        output.WriteLine($"acknowledged {writers.Acks.Count}, unknown outcomes {writers.Unknown.Count}");
    }

    [Fact]
    public async Task A_new_replica_catches_up_a_partition_that_has_had_no_write_since_its_primary_changed()
    {
        // Writes, then quiet: every partition n1 led gets a new primary twice (failover, then the handoff back when
        // n1 returns), and no record is appended after either. A replica added then has nothing but the log to learn from.
        var writers = new ClusterWriters(_cluster, "elena", _secret);
        using (var stop = new CancellationTokenSource())
        {
            var running = writers.RunAsync(Writers, ["n1", "n2", "n3"], stop.Token);
            await ClusterProcesses.WaitUntilAsync(() => Task.FromResult(writers.Acks.Count >= 100), "100 writes");
            stop.Cancel();
            await running;
        }
        await _cluster.KillAsync("n1");
        await ClusterProcesses.WaitUntilAsync(async () => (await _cluster.PartitionsAsync("n2")).All(p => p.GetProperty("primary").GetString() is "n2" or "n3"),
            "n1's partitions led by n2 and n3");
        await _cluster.RestartAsync("n1");
        await WaitBalancedAsync("n1 back, leading its partitions again");

        await _cluster.JoinAsync("j4", "n2");
        await WaitBalancedAsync("j4 holds its share, every copy in sync");
        foreach (var node in new[] { "n1", "n2", "n3", "j4" }) await writers.CheckAsync(node, Writers);
    }
}
