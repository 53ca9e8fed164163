using System.Net;
using Kv4.Cluster;
using Kv4.Cluster.Transport;

namespace Kv4.Server.Configuration;

/// <summary>
/// `Kv4:Cluster:*`: without them the server is a single node. The names Name, Listen, Initial, Join and Replicas are
/// fixed (scripts and operators use them); the timings are for tests and tuning (docs/cluster.md).
/// <code>
///   --Kv4:Cluster:Name=n1 --Kv4:Cluster:Listen=127.0.0.1:7101
///   --Kv4:Cluster:Initial=n1=127.0.0.1:7101,n2=127.0.0.1:7102,n3=127.0.0.1:7103      (founding members)
///   --Kv4:Cluster:Join=127.0.0.1:7101                                              (a new node: a member's endpoint)
/// </code>
/// </summary>
public sealed class ClusterSettings
{
    public string? Name { get; set; }

    public string? Listen { get; set; }

    public string? Initial { get; set; }

    public string? Join { get; set; }

    public int? Replicas { get; set; }

    /// <summary>The secret nodes prove to each other on the cluster port; default: the `$sys` secret.</summary>
    public string? Secret { get; set; }

    public int Partitions { get; set; } = 64;

    public int HeartbeatMs { get; set; } = 200;

    public int LeaseMs { get; set; } = 800;

    public int FailureTimeoutMs { get; set; } = 1200;

    public int InSyncTimeoutMs { get; set; } = 1000;

    public int RequestTimeoutMs { get; set; } = 3000;

    public int FailoverPatienceMs { get; set; } = 5000;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Name) || !string.IsNullOrWhiteSpace(Listen)
        || !string.IsNullOrWhiteSpace(Initial) || !string.IsNullOrWhiteSpace(Join);

    /// <summary>The node's options, or a message that says which setting is wrong.</summary>
    public ClusterOptions ToOptions(string dataDirectory, string sharedSecret, string? publicUrl)
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new InvalidOperationException("Kv4:Cluster:Name is required on a cluster node");
        if (!NodeEndpoints.TryParse(Listen, out var listen)) throw new InvalidOperationException("Kv4:Cluster:Listen must be host:port");
        var initial = new List<(string, EndPoint)>();
        foreach (var member in (Initial ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = member.IndexOf('=');
            if (at <= 0 || !NodeEndpoints.TryParse(member[(at + 1)..], out var endpoint))
                throw new InvalidOperationException($"Kv4:Cluster:Initial: '{member}' is not name=host:port");
            initial.Add((member[..at], endpoint));
        }
        EndPoint? join = null;
        if (!string.IsNullOrWhiteSpace(Join) && !NodeEndpoints.TryParse(Join, out join))
            throw new InvalidOperationException("Kv4:Cluster:Join must be a member's host:port");
        var options = new ClusterOptions
        {
            Name = Name.Trim(),
            Listen = listen,
            PublicUrl = publicUrl,
            Initial = initial,
            Join = join,
            Replicas = Replicas,
            Secret = Secret ?? sharedSecret,
            DataDirectory = dataDirectory,
            PartitionCount = Partitions,
            HeartbeatInterval = TimeSpan.FromMilliseconds(HeartbeatMs),
            Lease = TimeSpan.FromMilliseconds(LeaseMs),
            FailureTimeout = TimeSpan.FromMilliseconds(FailureTimeoutMs),
            InSyncTimeout = TimeSpan.FromMilliseconds(InSyncTimeoutMs),
            RequestTimeout = TimeSpan.FromMilliseconds(RequestTimeoutMs),
            FailoverPatience = TimeSpan.FromMilliseconds(FailoverPatienceMs),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        return options;
    }
}
