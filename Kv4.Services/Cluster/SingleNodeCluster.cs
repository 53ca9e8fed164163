namespace Kv4.Services.Cluster;

/// <summary>A server without cluster settings: one member, "local", that holds and leads every partition.</summary>
public sealed class SingleNodeCluster(int partitionCount, Func<string?> publicUrl, Func<(long Sockets, double RequestsPerSecond)> load) : IClusterView
{
    public const string Name = "local";

    public ClusterSnapshot Snapshot()
    {
        var (sockets, rps) = load();
        var partitions = Enumerable.Range(0, partitionCount)
            .Select(p => new PartitionView(p, 0, Name, [], [Name], new Dictionary<string, long>()))
            .ToList();
        return new ClusterSnapshot(Name, Name, [new MemberView(Name, null, publicUrl(), "up", sockets, rps, partitionCount, 0)], partitions);
    }

    public Task<DecommissionOutcome> DecommissionAsync(string node, CancellationToken cancellationToken) => Task.FromResult(DecommissionOutcome.NotClustered);
}
