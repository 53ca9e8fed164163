using System.Text;
using System.Text.Json;
using Kv4.Services.Signal;

namespace Kv4.Tests.Realtime;

/// <summary>The signal protocol (http-api.md §6 Signal WebSocket) without sockets.</summary>
[Trait("Category", "Unit")]
public sealed class SignalHubTests
{
    private readonly SignalHub _hub = new(new SignalOptions { SendQueueFrames = 8 });

    private static List<string> Drain(SignalConnection connection)
    {
        var frames = new List<string>();
        while (connection.Outgoing.TryRead(out var frame)) frames.Add(Encoding.UTF8.GetString(frame.Span));
        return frames;
    }

    private SignalConnection Join(string user, string channel = "room") => Join("elena", channel, user);

    private SignalConnection Join(string bucket, string channel, string user)
    {
        var connection = _hub.CreateConnection(bucket, channel, user, bucket);
        _hub.Join(connection);
        return connection;
    }

    [Fact]
    public void The_joiner_gets_peers_first_and_the_others_get_peer_connected()
    {
        var alice = Join("alice");
        Assert.Equal(["{\"m\":{\"o\":\"peers\",\"f\":\"/room/__sys__\"},\"p\":{\"users\":[\"alice\"]}}"], Drain(alice));
        var bob = Join("bob");
        Assert.Equal(["{\"m\":{\"o\":\"peers\",\"f\":\"/room/__sys__\"},\"p\":{\"users\":[\"alice\",\"bob\"]}}"], Drain(bob));
        Assert.Equal(["{\"m\":{\"o\":\"peer_connected\",\"f\":\"/room/bob\"}}"], Drain(alice));
        Assert.Equal(2, _hub.ConnectionCount);
    }

    [Fact]
    public void A_message_without_target_reaches_every_other_member_with_the_server_set_sender()
    {
        var alice = Join("alice");
        var bob = Join("bob");
        var carol = Join("carol");
        var other = Join("dave", "other-room");
        Drain(alice); Drain(bob); Drain(carol); Drain(other);

        var result = _hub.Receive(alice, """{"t":"u","m":{"f":"/room/mallory","o":"message"},"p":{"msg":"hi"}}"""u8);
        Assert.Equal(SignalReceiveResult.Relayed, result);
        const string expected = "{\"t\":\"u\",\"m\":{\"f\":\"/room/alice\",\"o\":\"message\"},\"p\":{\"msg\":\"hi\"}}";
        Assert.Equal([expected], Drain(bob));
        Assert.Equal([expected], Drain(carol));
        Assert.Empty(Drain(alice));
        Assert.Empty(Drain(other));
    }

    [Fact]
    public void A_message_with_target_reaches_only_that_peer()
    {
        var alice = Join("alice");
        var bob = Join("bob");
        var carol = Join("carol");
        Drain(alice); Drain(bob); Drain(carol);

        _hub.Receive(alice, """{"t":"u","m":{"o":"message","t":"carol"},"p":{"msg":{"type":"offer","sdp":"x"}}}"""u8);
        Assert.Empty(Drain(bob));
        Assert.Equal(["{\"t\":\"u\",\"m\":{\"f\":\"/room/alice\",\"o\":\"message\",\"t\":\"carol\"},\"p\":{\"msg\":{\"type\":\"offer\",\"sdp\":\"x\"}}}"], Drain(carol));
        // A full address works as a target too.
        _hub.Receive(alice, """{"m":{"t":"/room/bob"},"p":1}"""u8);
        Assert.Single(Drain(bob));
    }

    [Fact]
    public void Ping_is_a_keep_alive_that_answers_nothing()
    {
        var alice = Join("alice");
        var bob = Join("bob");
        Drain(alice); Drain(bob);
        Assert.Equal(SignalReceiveResult.KeepAlive, _hub.Receive(alice, "ping"u8));
        Assert.Empty(Drain(alice));
        Assert.Empty(Drain(bob));
    }

    [Theory]
    [InlineData("{not json", "bad_json")]
    [InlineData("", "bad_json")]
    [InlineData("[1,2]", "bad_param")]
    [InlineData("{\"p\":{}}", "bad_param")]
    [InlineData("{\"m\":\"x\"}", "bad_param")]
    [InlineData("{\"t\":\"x\",\"m\":{}}", "bad_param")]
    [InlineData("{\"m\":{\"o\":5}}", "bad_param")]
    [InlineData("{\"m\":{\"o\":\"peer_removed\"}}", "bad_param")]
    [InlineData("{\"m\":{\"t\":7}}", "bad_param")]
    [InlineData("{\"m\":{\"t\":\"nobody\"}}", "peer_not_found")]
    public void A_malformed_frame_gets_an_error_frame_and_nothing_is_relayed(string frame, string code)
    {
        var alice = Join("alice");
        var bob = Join("bob");
        Drain(alice); Drain(bob);
        Assert.Equal(SignalReceiveResult.Refused, _hub.Receive(alice, Encoding.UTF8.GetBytes(frame)));
        var error = Assert.Single(Drain(alice));
        using var doc = JsonDocument.Parse(error);
        Assert.Equal("error", doc.RootElement.GetProperty("m").GetProperty("o").GetString());
        Assert.Equal("/room/__sys__", doc.RootElement.GetProperty("m").GetProperty("f").GetString());
        Assert.Equal(code, doc.RootElement.GetProperty("p").GetProperty("error").GetString());
        Assert.Empty(Drain(bob));
        Assert.Null(alice.CloseReason);
    }

    [Fact]
    public void Leave_tells_the_others_and_is_idempotent()
    {
        var alice = Join("alice");
        var bob = Join("bob");
        Drain(alice); Drain(bob);
        Assert.True(_hub.Leave(bob));
        Assert.False(_hub.Leave(bob));
        Assert.Equal(["{\"m\":{\"o\":\"peer_removed\",\"f\":\"/room/bob\"}}"], Drain(alice));
        Assert.Equal(["alice"], _hub.Members("elena", "room"));
        Assert.Equal(1, _hub.ConnectionCount);
    }

    [Fact]
    public void A_second_connection_of_a_user_replaces_the_first()
    {
        var alice = Join("alice");
        var bob1 = Join("bob");
        Drain(alice);
        var bob2 = Join("bob");
        Assert.Equal(SignalCloseReason.Replaced, bob1.CloseReason);
        Assert.Equal(["{\"m\":{\"o\":\"peer_removed\",\"f\":\"/room/bob\"}}", "{\"m\":{\"o\":\"peer_connected\",\"f\":\"/room/bob\"}}"], Drain(alice));
        Assert.Same(bob2, _hub.Find("elena", "room", "bob"));
        // The replaced connection's late leave changes nothing.
        Assert.False(_hub.Leave(bob1));
        Assert.Empty(Drain(alice));
        Assert.Equal(2, _hub.ConnectionCount);
    }

    [Fact]
    public void Joins_count_in_router_sub_and_relayed_messages_their_size_in_router_pkt()
    {
        var sink = new RecordingSink();
        var hub = new SignalHub(new SignalOptions { SendQueueFrames = 8 }, sink);
        SignalConnection Enter(string user)
        {
            var connection = hub.CreateConnection("elena", "room/1", user, "elena");
            hub.Join(connection);
            return connection;
        }
        var alice = Enter("alice");
        var bob = Enter("bob");
        var carol = Enter("carol");
        Drain(bob);
        hub.Receive(alice, """{"t":"u","m":{"o":"message"},"p":{"hello":1}}"""u8);
        var broadcast = Drain(bob).Single();
        hub.Receive(alice, """{"t":"u","m":{"o":"message","t":"bob"},"p":"x"}"""u8);
        var direct = Drain(bob).Single();
        // Not relayed: no packet counted.
        hub.Receive(alice, "ping"u8);
        hub.Receive(alice, "not json"u8);
        hub.Receive(alice, """{"t":"u","m":{"o":"message","t":"nobody"},"p":1}"""u8);
        Assert.NotNull(carol);

        Assert.Equal(
            [("elena", "room/1", "router:sub", "alice", 1.0), ("elena", "room/1", "router:sub", "bob", 1.0), ("elena", "room/1", "router:sub", "carol", 1.0),
                ("elena", "room/1", "router:pkt", "alice", Encoding.UTF8.GetByteCount(broadcast)),
                ("elena", "room/1", "router:pkt", "alice", Encoding.UTF8.GetByteCount(direct))],
            sink.Values);
    }

    private sealed class RecordingSink : Kv4.Services.Stats.IStatsSink
    {
        public List<(string, string, string, string, double)> Values { get; } = [];

        public bool Record(string bucket, string entity, string measurement, string key, double value)
        {
            Values.Add((bucket, entity, measurement, key, value));
            return true;
        }
    }

    /// <summary>What `_subs` does for a kick (with the presence entry removed in between): select, then leave as kicked.</summary>
    private IReadOnlyList<SignalConnection> Kick(string bucket, string channel, string? user) =>
        _hub.Connections(bucket, channel, user).Where(c => _hub.Leave(c, SignalCloseReason.Kicked)).ToArray();

    [Fact]
    public void Kick_one_or_all_below_a_channel()
    {
        var alice = Join("alice", "a");
        var bob = Join("bob", "a");
        var carol = Join("carol", "a/b");
        var dave = Join("dave", "ab");
        Drain(alice);
        Assert.Single(Kick("elena", "a", "bob"));
        Assert.Equal(SignalCloseReason.Kicked, bob.CloseReason);
        Assert.Equal(["{\"m\":{\"o\":\"peer_removed\",\"f\":\"/a/bob\"}}"], Drain(alice));
        Assert.Empty(Kick("elena", "a", "nobody"));
        Assert.Equal(2, Kick("elena", "a", null).Count);
        Assert.Equal(SignalCloseReason.Kicked, carol.CloseReason);
        Assert.Null(dave.CloseReason);
        Assert.Empty(Kick("other-bucket", "", null));
    }

    [Fact]
    public void A_slow_member_is_disconnected_and_never_blocks_the_others()
    {
        var sender = Join("sender");
        var slow = Join("slow");
        var fast = Join("fast");
        var delivered = 0;
        for (var i = 0; i < 50; i++)
        {
            _hub.Receive(sender, Encoding.UTF8.GetBytes($"{{\"m\":{{}},\"p\":{i}}}"));
            delivered += Drain(fast).Count(f => f.Contains("\"o\":\"message\""));
        }
        Assert.Equal(50, delivered);
        Assert.Equal(SignalCloseReason.SlowConsumer, slow.CloseReason);
    }

    [Fact]
    public void Channels_of_different_buckets_never_meet()
    {
        var a = Join("elena", "room", "alice");
        var b = Join("mark", "room", "bob");
        Assert.Contains("[\"alice\"]", Drain(a).Single());
        Assert.Contains("[\"bob\"]", Drain(b).Single());
        _hub.Receive(a, """{"m":{},"p":1}"""u8);
        Assert.Empty(Drain(b));
    }

    [Fact]
    public void The_root_channel_addresses_users_as_slash_user()
    {
        var alice = Join("alice", "");
        Assert.Equal(["{\"m\":{\"o\":\"peers\",\"f\":\"/__sys__\"},\"p\":{\"users\":[\"alice\"]}}"], Drain(alice));
        Assert.Equal("/alice", alice.Address);
    }
}
