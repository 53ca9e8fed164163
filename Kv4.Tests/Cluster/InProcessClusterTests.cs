using System.Net;
using System.Text;
using Kv4.Cluster;
using Kv4.Cluster.Routing;
using Kv4.Engine;
using Kv4.Engine.Model;

using Kv4.Tests.Support;

namespace Kv4.Tests.Cluster;

/// <summary>
/// Three cluster nodes in one process, each with its own replicated store, talking over real sockets: the control
/// plane bootstraps, every partition gets a primary and two in-sync backups, a write through one node is read through
/// another, and after a node stops its partitions are led elsewhere with every acknowledged write there.
/// </summary>
[Trait("Category", "Integration")]
public sealed class InProcessClusterTests : IAsyncDisposable
{
    private const int Partitions = 8;
    private readonly List<(ClusterNode Node, Kv4Store Store, string Directory)> _nodes = [];

    private async Task StartAsync(int count)
    {
        var ports = Enumerable.Range(0, count).Select(_ => FreePorts.Next()).ToList();
        var initial = ports.Select((port, i) => ($"n{i + 1}", (EndPoint)new IPEndPoint(IPAddress.Loopback, port))).ToList();
        for (var i = 0; i < count; i++)
        {
            var directory = Path.Combine(Path.GetTempPath(), "kv4-cluster-tests", Guid.NewGuid().ToString("N"));
            var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory, Durability = DurabilityMode.Sync, Replicated = true, PartitionCount = Partitions });
            var node = await ClusterNode.StartAsync(new ClusterOptions
            {
                Name = $"n{i + 1}", Listen = initial[i].Item2, Initial = initial, Secret = "a cluster secret for tests", DataDirectory = directory,
                PartitionCount = Partitions,
            }, store, new FileLoggerFactory(Path.Combine(Path.GetTempPath(), $"kv4-inprocess-n{i + 1}.log"), Microsoft.Extensions.Logging.LogLevel.Debug), CancellationToken.None);
            _nodes.Add((node, store, directory));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 30)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (!condition())
        {
            if (timeout.IsCancellationRequested) throw new TimeoutException(what);
            await Task.Delay(20);
        }
    }

    private ClusterNode Node(string name) => _nodes.Single(n => n.Node.Name == name).Node;

    [Fact]
    public async Task Three_nodes_bootstrap_replicate_and_fail_over()
    {
        await StartAsync(3);
        await WaitUntilAsync(() => _nodes.All(n => n.Node.Ready), "every node ready");
        var state = _nodes[0].Node.State;
        Assert.Equal(Partitions, state.PartitionCount);
        Assert.All(state.Partitions, p => Assert.Equal(3, p.InSync.Length));

        var p = _nodes[0].Store.PartitionOf("b", "data", "x");
        await WaitUntilAsync(() => _nodes.Any(n => n.Node.Local.Leads(p)), "a leader of the partition");
        var primary = _nodes.Single(n => n.Node.Local.Leads(p)).Node;
        var other = _nodes.First(n => n.Node != primary).Node;

        // Through a node that does not lead the partition: the call goes to the primary, which answers once every
        // in-sync backup has the write (sync mode: on its disk).
        var view = new ClusterStore(other).Bucket("b");
        var written = await view.PutAsync("data", "x", "k", Encoding.UTF8.GetBytes("{\"n\":1}"), "t");
        Assert.True(written.Applied);
        var read = await view.GetLatestAsync("data", "x", "k");
        Assert.Equal("{\"n\":1}", Encoding.UTF8.GetString(read!.Value.Json.Span));
        foreach (var (node, store, _) in _nodes) Assert.True(store.Replication!.Sequence(p) >= written.PartitionSequence, $"{node.Name} lacks the write");

        var stopped = _nodes.Single(n => n.Node == primary);
        await stopped.Node.DisposeAsync();
        await stopped.Store.DisposeAsync();
        _nodes.Remove(stopped);
        await WaitUntilAsync(() => _nodes.Any(n => n.Node.Local.Leads(p)), "a new leader of the partition");
        var again = await new ClusterStore(_nodes[0].Node).Bucket("b").GetLatestAsync("data", "x", "k");
        Assert.Equal(written.Version, again!.Value.Version);
        Assert.True(_nodes[0].Node.State.Partitions[p].Epoch > 1);
    }

    [Fact]
    public async Task A_backup_of_the_cluster_goes_on_when_a_partitions_primary_stops_half_way_and_holds_every_acknowledged_write()
    {
        await StartAsync(3);
        await WaitUntilAsync(() => _nodes.All(n => n.Node.Ready) && Enumerable.Range(0, Partitions).All(p => _nodes.Any(n => n.Node.Local.Leads(p))),
            "every node ready, every partition led");
        var through = _nodes[0].Node;
        var view = new ClusterStore(through).Bucket("b");
        var pathOf = new string[Partitions];
        for (var i = 0; pathOf.Any(p => p is null); i++)
        {
            var p = _nodes[0].Store.PartitionOf("b", "data", $"p{i}");
            pathOf[p] ??= $"p{i}";
        }
        // Partition 0 holds over a megabyte, so the backup sends its first bytes on while it is still reading partition 0.
        var acknowledged = new Dictionary<int, List<long>>();
        for (var p = 0; p < Partitions; p++)
        {
            acknowledged[p] = [];
            var filler = new string('x', p == 0 ? 48_000 : 10);
            for (var n = 0; n < (p == 0 ? 30 : 5); n++)
            {
                var written = await view.PutAsync("data", pathOf[p], "k", Encoding.UTF8.GetBytes($"{{\"n\":{n},\"s\":\"{filler}\"}}"), "t");
                acknowledged[p].Add(written.Version.Value);
            }
        }
        var last = Enumerable.Range(0, Partitions).Reverse().First(p => !through.Local.Leads(p));

        var output = new GatedStream();
        var backup = new ClusterStore(through).WriteBackupAsync(output).AsTask();
        await output.Blocked.WaitAsync(TimeSpan.FromSeconds(60));
        // The backup is inside partition 0; partition `last` has not been read yet. Its primary stops.
        var stopped = _nodes.Single(n => n.Node.Local.Leads(last));
        await stopped.Node.DisposeAsync();
        await stopped.Store.DisposeAsync();
        _nodes.Remove(stopped);
        await WaitUntilAsync(() => _nodes.Any(n => n.Node.Local.Leads(last)), "a new leader of the partition");
        output.Open();
        var summary = await backup.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(acknowledged.Values.Sum(v => v.Count), summary.Records);

        var directory = Path.Combine(Path.GetTempPath(), "kv4-cluster-tests", Guid.NewGuid().ToString("N"));
        try
        {
            output.Position = 0;
            await Kv4.Engine.Backups.StoreRestore.RestoreAsync(output, new StoreOptions { DataDirectory = directory, PartitionCount = Partitions });
            await using var restored = Kv4Store.Open(new StoreOptions { DataDirectory = directory, PartitionCount = Partitions });
            for (var p = 0; p < Partitions; p++)
            {
                var history = await restored.GetHistoryAsync(new EntryAddress("b", "data", pathOf[p], "k"), HistoryQuery.All);
                Assert.Equal(acknowledged[p].AsEnumerable().Reverse(), history.Select(h => h.Version.Value));
            }
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>A memory stream whose first write waits until <see cref="Open"/>: holds a writer at a known point.</summary>
    private sealed class GatedStream : MemoryStream
    {
        private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Blocked => _blocked.Task;

        public void Open() => _open.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _blocked.TrySetResult();
            await _open.Task.WaitAsync(cancellationToken);
            await base.WriteAsync(buffer, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (node, store, directory) in _nodes)
        {
            await node.DisposeAsync();
            await store.DisposeAsync();
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        }
    }
}
