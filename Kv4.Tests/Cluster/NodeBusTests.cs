using System.Net;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Control;
using Kv4.Cluster.Transport;
using Microsoft.Extensions.Logging.Abstractions;

using Kv4.Tests.Support;

namespace Kv4.Tests.Cluster;

[Trait("Category", "Integration")]
public sealed class NodeBusTests
{
    private sealed class Echo : IBusHandler
    {
        public ValueTask<BusMessage> HandleAsync(string peer, BusMessage request, CancellationToken cancellationToken) =>
            ValueTask.FromResult<BusMessage>(new HeartbeatReply { Leader = true, StateVersion = ((Heartbeat)request).Sequences.Length });
        public void Notice(string peer, BusMessage notice) { }
    }

    [Fact]
    public async Task Two_nodes_call_each_other_over_the_cluster_port()
    {
        var key = ClusterKey.FromText("a cluster secret for tests");
        var portA = FreePorts.Next();
        var portB = FreePorts.Next();
        var endpoints = new Dictionary<string, EndPoint> { ["a"] = new IPEndPoint(IPAddress.Loopback, portA), ["b"] = new IPEndPoint(IPAddress.Loopback, portB) };
        await using var busA = new NodeBus(key, "a", n => endpoints[n], TimeSpan.FromSeconds(2), NullLogger.Instance);
        await using var busB = new NodeBus(key, "b", n => endpoints[n], TimeSpan.FromSeconds(2), NullLogger.Instance);
        await using var listenerB = new ClusterListener(endpoints["b"], key, "b", busB.AcceptAsync, NullLogger.Instance);
        busB.Attach(new Echo());
        var reply = await busA.CallAsync<HeartbeatReply>("b", new Heartbeat { Node = "a", Sequences = [1, 2, 3] }, TimeSpan.FromSeconds(5));
        Assert.Equal(3, reply.StateVersion);
    }
}
