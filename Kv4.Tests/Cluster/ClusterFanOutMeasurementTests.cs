using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Kv4.Tests.Realtime;
using Xunit.Abstractions;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Broadcast fan-out on one channel with 1000 real WebSocket clients against a three-node cluster of real processes:
/// first all 1000 members on one node, then 1000 spread over the three (member i on node i mod 3, the sender on n1).
/// It measures (deliveries per second, latency percentiles) and asserts only that every member got every message, in
/// order. With KV4_WRITE_BENCHMARKS=1 the figures also replace the "Realtime fan-out across nodes" section of
/// docs/benchmarks.md.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterFanOutMeasurementTests(ITestOutputHelper output)
{
    private const string Heading = "## Realtime fan-out across nodes";
    private const int Clients = 1000;
    private const int PacedMessages = 20;
    private const int BurstMessages = 100;

    private sealed record Layout(string Name, double JoinSeconds, FanOutMeasurement.Phase Paced, FanOutMeasurement.Phase Burst);

    [Fact]
    public async Task Broadcast_to_1000_members_spread_over_three_nodes_reaches_every_member()
    {
        // Queues large enough for the join storm: each join sends peer_connected to everyone already there.
        await using var cluster = await ClusterProcesses.StartAsync(3, new Dictionary<string, string> { ["Kv4__Signal__SendQueueFrames"] = "8192" });
        var secret = await cluster.CreateAccountAsync("elena");
        var one = await MeasureAsync(cluster, secret, "one", ["n1"]);
        var three = await MeasureAsync(cluster, secret, "three", ["n1", "n2", "n3"]);

        var report = Report([one, three]);
        output.WriteLine(report);
        if (Environment.GetEnvironmentVariable("KV4_WRITE_BENCHMARKS") == "1") FanOutMeasurement.WriteSection(Heading, report);
    }

    /// <summary>Joins 1000 members of channel <paramref name="channel"/>, member i on <c>nodes[i % nodes.Length]</c>; measures; closes them.</summary>
    private static async Task<Layout> MeasureAsync(ClusterProcesses cluster, string secret, string channel, string[] nodes)
    {
        var created = await cluster.SendAsync("n1", HttpMethod.Put, $"/_ns/{channel}", user: "elena", secret: secret);
        Assert.Equal(HttpStatusCode.OK, created.Status);
        var joinWatch = Stopwatch.StartNew();
        var receivers = new FanOutReceiver[Clients - 1];
        SignalClientRaw? sender = null;
        using (var throttle = new SemaphoreSlim(32))
        {
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
            {
                await throttle.WaitAsync();
                try
                {
                    var node = cluster[nodes[i % nodes.Length]];
                    var (status, token) = await cluster.SendAsync(node.Name, HttpMethod.Put, $"/_token/{channel}?k=u{i:D4}&expire=600", user: "elena", secret: secret);
                    Assert.Equal(HttpStatusCode.OK, status);
                    var socket = await SignalClientRaw.ConnectAsync(new Uri($"ws://127.0.0.1:{node.HttpPort}/ws/v2/{token.GetProperty("v").GetString()}"));
                    if (i == 0) sender = socket;
                    else receivers[i - 1] = new FanOutReceiver(socket);
                }
                finally
                {
                    throttle.Release();
                }
            }));
        }
        var joinSeconds = joinWatch.Elapsed.TotalSeconds;
        Assert.NotNull(sender);
        foreach (var receiver in receivers) receiver.Start();
        _ = sender.DrainAsync();
        // Warm-up: once every member has this message, the join storm's backlog is behind them all.
        await FanOutMeasurement.MeasureAsync(sender, receivers, "warmup", 1, TimeSpan.Zero);
        var paced = await FanOutMeasurement.MeasureAsync(sender, receivers, "paced", PacedMessages, TimeSpan.FromMilliseconds(50));
        var burst = await FanOutMeasurement.MeasureAsync(sender, receivers, "burst", BurstMessages, TimeSpan.Zero);

        await sender.DisposeAsync();
        await Task.WhenAll(receivers.Select(r => r.DisposeAsync().AsTask()));
        // The next layout starts on a quiet cluster: every leave done.
        await ClusterProcesses.WaitUntilAsync(async () =>
        {
            var (_, subs) = await cluster.SendAsync("n1", HttpMethod.Get, $"/_subs/{channel}/topic", user: "elena", secret: secret);
            return subs.GetProperty("v").GetArrayLength() == 0;
        }, $"every member of {channel} gone");
        return new Layout(nodes.Length == 1 ? "1 node" : $"{nodes.Length} nodes", joinSeconds, paced, burst);
    }

    private static string Report(Layout[] layouts)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Heading);
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"The same measurement as above on a three-node cluster of real processes (loopback, sync durability): one channel,");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{Clients} members, one sender on n1, every message to the {Clients - 1} others; first all {Clients} members on n1, then");
        sb.AppendLine("member i on node i mod 3 (333 of the receivers on the sender's node, 666 reached over the node bus). The three");
        sb.AppendLine("nodes, the 1000 clients and the test share the machine's 2 cores, with other agents building on them at the");
        sb.AppendLine("time: the figures are a floor, and the two layouts are best compared with each other (same run) rather than with");
        sb.AppendLine("the single in-process server above. Measured by");
        sb.AppendLine("`KV4_WRITE_BENCHMARKS=1 dotnet test -c Release Kv4.Tests --filter FullyQualifiedName~ClusterFanOutMeasurementTests`");
        sb.AppendLine(CultureInfo.InvariantCulture, $"(measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; the test asserts only that every member got every message, in order).");
        sb.AppendLine();
        sb.AppendLine("| members on | phase | messages | deliveries | deliveries/s | p50 ms | p99 ms | max ms |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var layout in layouts)
            foreach (var p in new[] { layout.Paced, layout.Burst })
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {layout.Name} | {p.Name} | {p.Messages} | {p.Deliveries} | {p.Deliveries / p.Seconds:N0} | {p.Percentile(0.50):F1} | {p.Percentile(0.99):F1} | {p.Percentile(1.0):F1} |");
        sb.AppendLine();
        var joins = string.Join(" and ", layouts.Select(l => string.Create(CultureInfo.InvariantCulture, $"{l.JoinSeconds:F1} s on {l.Name}")));
        sb.AppendLine(CultureInfo.InvariantCulture, $"Joining the {Clients} members (token, upgrade, the `_subs` entry written and replicated, `peers`) took {joins}.");
        sb.AppendLine("Paced: one message every 50 ms, so its rate is set by the pacing; burst: all sent back to back, so its rate");
        sb.AppendLine("is what nodes and clients sustain together and its latency is mostly queueing behind the earlier messages.");
        return sb.ToString();
    }
}
