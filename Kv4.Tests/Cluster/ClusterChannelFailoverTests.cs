using System.Net;
using System.Text.Json;
using Kv4.Engine.Partitioning;
using Kv4.Tests.Realtime;
using Xunit.Abstractions;

namespace Kv4.Tests.Cluster;

/// <summary>
/// A signal channel keeps talking while the partition that holds its presence (the `subs` entries of `room`) fails
/// over or moves: four members on the two nodes that do not lead that partition talk all the time; its primary is
/// killed (SIGKILL), or decommissioned so the partition moves away; a fifth member joins meanwhile. No socket is
/// closed, every message sent reaches every other member once and in its sender's order, the late joiner is
/// announced once, and `_subs` lists all five afterwards.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClusterChannelFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] Originals = ["alice", "bob", "carol", "dave"];
    private ClusterProcesses _cluster = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _cluster = await ClusterProcesses.StartAsync(3);
        _secret = await _cluster.CreateAccountAsync("elena");
        Assert.Equal(HttpStatusCode.OK, (await Elena("n1", HttpMethod.Put, "/_ns/room")).Status);
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private Task<(HttpStatusCode Status, JsonElement Body)> Elena(string node, HttpMethod method, string pathAndQuery) =>
        _cluster.SendAsync(node, method, pathAndQuery, user: "elena", secret: _secret);

    /// <summary>The partition of `room`'s presence: its `subs` entries live at the channel's topic node.</summary>
    private static int PresencePartition => new PartitionMap(64).PartitionOf("elena", "subs", "room/topic");

    private async Task<string> PrimaryOfPresenceAsync(string askNode)
    {
        var (_, body) = await _cluster.SendAsync(askNode, HttpMethod.Get, "/_cluster/partitions");
        return body.GetProperty("v")[PresencePartition].GetProperty("primary").GetString()!;
    }

    /// <summary>A member whose token is minted and socket opened on <paramref name="node"/>; a mint refused during a failover is asked again.</summary>
    private async Task<SignalClient> ConnectAsync(string node, string user)
    {
        string? token = null;
        await ClusterProcesses.WaitUntilAsync(async () =>
        {
            var minted = await Elena(node, HttpMethod.Put, $"/_token/room?k={user}");
            token = minted.Status == HttpStatusCode.OK ? minted.Body.GetProperty("v").GetString() : null;
            return token is not null;
        }, $"a token for {user} on {node}");
        return await SignalClient.ConnectAsync(new Uri($"ws://127.0.0.1:{_cluster[node].HttpPort}/ws/v2/{token}"));
    }

    private static string Peers(params string[] users) =>
        """{"m":{"o":"peers","f":"/room/__sys__"},"p":{"users":[""" + string.Join(',', users.Select(u => $"\"{u}\"")) + "]}}";

    private static string Connected(string user) => """{"m":{"o":"peer_connected","f":"/room/""" + user + "\"}}";

    private async Task<string[]> SubsAsync(string node)
    {
        var (status, body) = await Elena(node, HttpMethod.Get, "/_subs/room/topic");
        Assert.Equal(HttpStatusCode.OK, status);
        return [.. body.GetProperty("v").EnumerateArray().Select(e => e.GetString()!)];
    }

    /// <summary>
    /// alice and bob on one node, carol and dave on the other, none on <paramref name="spared"/>; each announced to
    /// the ones before before the next joins. Answers the members and the two nodes.
    /// </summary>
    private async Task<(List<(string User, SignalClient Client)> Members, string[] Nodes)> JoinOriginalsAsync(string spared)
    {
        var nodes = new[] { "n1", "n2", "n3" }.Where(n => n != spared).ToArray();
        var members = new List<(string User, SignalClient Client)>();
        for (var i = 0; i < Originals.Length; i++)
        {
            var client = await ConnectAsync(nodes[i / 2], Originals[i]);
            Assert.Equal(Peers(Originals[..(i + 1)]), await client.NextAsync());
            foreach (var (_, earlier) in members) Assert.Equal(Connected(Originals[i]), await earlier.NextAsync());
            members.Add((Originals[i], client));
        }
        return (members, nodes);
    }

    [Fact]
    public async Task A_conversation_goes_on_while_the_primary_of_its_presence_partition_is_killed()
    {
        var victim = await PrimaryOfPresenceAsync("n1");
        var (members, nodes) = await JoinOriginalsAsync(spared: victim);
        await using var conversation = new SignalConversation();
        foreach (var (user, client) in members) conversation.Add(user, client);
        await conversation.WaitSentAsync(30, "30 messages from everyone before the kill");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await _cluster.KillAsync(victim);
        output.WriteLine($"killed {victim}, the primary of presence partition {PresencePartition}, after {conversation.LeastSent}+ messages each");
        // eve joins while the partition may still have no primary: her entry's write waits for the new one.
        await using var eve = await ConnectAsync(nodes[0], "eve");
        Assert.Equal(Peers([.. Originals, "eve"]), await eve.NextAsync());
        output.WriteLine($"eve joined {clock.ElapsedMilliseconds} ms after the kill");
        conversation.Add("eve", eve, joinedLate: true);
        await ClusterProcesses.WaitUntilAsync(async () => await PrimaryOfPresenceAsync(nodes[0]) != victim, "a new primary for the presence partition");
        output.WriteLine($"new primary seen {clock.ElapsedMilliseconds} ms after the kill");
        var sentAtFailover = conversation.LeastSent;
        await conversation.WaitSentAsync(sentAtFailover + 30, "30 more messages from everyone after the failover");

        await conversation.CheckAsync(user => user == "eve" ? [] : [Connected("eve")]);
        var everyone = Originals.Append("eve").Order().ToArray();
        foreach (var node in nodes) Assert.Equal(everyone, await SubsAsync(node));
    }

    [Fact]
    public async Task A_conversation_goes_on_while_its_presence_partition_moves_to_another_node()
    {
        var leaving = await PrimaryOfPresenceAsync("n1");
        var (members, nodes) = await JoinOriginalsAsync(spared: leaving);
        await using var conversation = new SignalConversation();
        foreach (var (user, client) in members) conversation.Add(user, client);
        await conversation.WaitSentAsync(30, "30 messages from everyone before the move");

        var decommission = await _cluster.SendAsync(nodes[0], HttpMethod.Delete, $"/_cluster/nodes?k={leaving}");
        Assert.True(decommission.Status == HttpStatusCode.OK, decommission.Body.GetRawText());
        output.WriteLine($"decommissioned {leaving}, the primary of presence partition {PresencePartition}, after {conversation.LeastSent}+ messages each");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var eve = await ConnectAsync(nodes[1], "eve");
        Assert.Equal(Peers([.. Originals, "eve"]), await eve.NextAsync());
        output.WriteLine($"eve joined {clock.ElapsedMilliseconds} ms after the decommission");
        conversation.Add("eve", eve, joinedLate: true);
        await _cluster.WaitLeftAsync(leaving, askedOn: nodes[0]);
        output.WriteLine($"{leaving} left {clock.ElapsedMilliseconds} ms after the decommission");
        Assert.NotEqual(leaving, await PrimaryOfPresenceAsync(nodes[0]));
        var sentAtMove = conversation.LeastSent;
        await conversation.WaitSentAsync(sentAtMove + 30, "30 more messages from everyone after the move");

        await conversation.CheckAsync(user => user == "eve" ? [] : [Connected("eve")]);
        var everyone = Originals.Append("eve").Order().ToArray();
        foreach (var node in nodes) Assert.Equal(everyone, await SubsAsync(node));
    }
}
