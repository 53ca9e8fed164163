using Kv4.Services.Api;
using Kv4.Services.Hosts;

namespace Kv4.Tests.Realtime;

[Trait("Category", "Unit")]
public sealed class HostChoiceTests
{
    private static readonly Caller Elena = new("elena", "elena", CallerKind.Account, []);

    [Theory]
    [InlineData("http://127.0.0.1:5000", "ws://127.0.0.1:5000/ws")]
    [InlineData("http://127.0.0.1:5000/", "ws://127.0.0.1:5000/ws")]
    [InlineData("https://node1.example.com", "wss://node1.example.com/ws")]
    [InlineData("https://node1.example.com:8443/kv4", "wss://node1.example.com:8443/kv4/ws")]
    public void The_signal_base_is_the_public_url_with_ws_scheme_and_ws_path(string publicUrl, string expected) =>
        Assert.Equal(expected, LocalHostDirectory.SignalBase(publicUrl));

    [Fact]
    public void The_least_loaded_candidate_wins_and_negative_or_nan_loads_are_ignored()
    {
        var chosen = HostChooser.Choose([new("a", "A", 10), new("b", "B", 3), new("c", "C", -1), new("d", "D", double.NaN)]);
        Assert.Equal("b", chosen!.NodeId);
        Assert.Null(HostChooser.Choose([]));
    }

    [Fact]
    public void Equal_loads_are_shared_among_users_but_stable_per_user()
    {
        HostCandidate[] equal = [new("a", "A", 1), new("b", "B", 1), new("c", "C", 1)];
        var picks = Enumerable.Range(0, 60).Select(i => HostChooser.Choose(equal, "user" + i)!.NodeId).ToHashSet();
        Assert.True(picks.Count > 1);
        Assert.Equal(HostChooser.Choose(equal, "alice")!.NodeId, HostChooser.Choose(equal, "alice")!.NodeId);
    }

    [Fact]
    public async Task Host_service_answers_by_type()
    {
        var service = new HostService([new LocalHostDirectory("n1", "https://n1.example.com")]);
        Assert.Equal(ErrorCode.RequireTypeParam, (await service.HandleAsync(Get(""))).Error);
        Assert.Equal(ErrorCode.UnrecognizedTypeParam, (await service.HandleAsync(Get("bogus"))).Error);
        // No TURN host configured: the type is unknown to this node.
        Assert.Equal(ErrorCode.UnrecognizedTypeParam, (await service.HandleAsync(Get("turn"))).Error);
        var signal = await service.HandleAsync(Get("signal"));
        Assert.True(signal.IsOk);
        Assert.Equal("{\"s\":\"ok\",\"v\":\"wss://n1.example.com/ws\"}", Envelope(signal));

        var turnPool = new Kv4.Services.Turn.TurnHostPool(["turn.example.com"], TimeProvider.System);
        var withTurn = new HostService([new LocalHostDirectory("n1", "http://n1"), new TurnHostDirectory(turnPool)]);
        Assert.Equal("{\"s\":\"ok\",\"v\":\"turn.example.com:3478\"}", Envelope(await withTurn.HandleAsync(Get("turn"))));
        Assert.Equal("{\"s\":\"ok\",\"v\":\"ws://n1/ws\"}", Envelope(await withTurn.HandleAsync(Get("signal"))));
    }

    [Fact]
    public async Task The_xirsys_best_path_names_the_type()
    {
        var turnPool = new Kv4.Services.Turn.TurnHostPool(["turn.example.com"], TimeProvider.System);
        var service = new HostService([new LocalHostDirectory("n1", "http://n1"), new TurnHostDirectory(turnPool)]);
        ApiRequest AtPath(string path) => Get("") with { Path = path };
        Assert.Equal("{\"s\":\"ok\",\"v\":\"ws://n1/ws\"}", Envelope(await service.HandleAsync(AtPath("best/signal"))));
        Assert.Equal("{\"s\":\"ok\",\"v\":\"turn.example.com:3478\"}", Envelope(await service.HandleAsync(AtPath("best/turn"))));
        Assert.Equal(ErrorCode.UnrecognizedTypeParam, (await service.HandleAsync(AtPath("best/bogus"))).Error);
        // Only exactly best/<type>; any other path still needs the parameter, and the parameter wins.
        Assert.Equal(ErrorCode.RequireTypeParam, (await service.HandleAsync(AtPath("best/signal/x"))).Error);
        Assert.Equal(ErrorCode.RequireTypeParam, (await service.HandleAsync(AtPath("my/room"))).Error);
        Assert.Equal("{\"s\":\"ok\",\"v\":\"turn.example.com:3478\"}", Envelope(await service.HandleAsync(Get("turn") with { Path = "best/signal" })));
    }

    [Fact]
    public async Task A_known_type_without_live_hosts_is_no_service_host()
    {
        var service = new HostService([new EmptyDirectory()]);
        Assert.Equal(ErrorCode.NoServiceHost, (await service.HandleAsync(Get("x"))).Error);
    }

    private sealed class EmptyDirectory : IHostDirectory
    {
        public bool TryGetCandidates(string type, out IReadOnlyList<HostCandidate> candidates)
        {
            candidates = [];
            return type == "x";
        }
    }

    private static ApiRequest Get(string type) => new(ApiMethod.Get, "host", "",
        ApiQuery.From(type.Length == 0 ? new Dictionary<string, string>() : new Dictionary<string, string> { ["type"] = type }), default, Elena, Kv4.Tests.Support.NoStorage.For(Elena.Bucket));

    internal static string Envelope(ApiReply reply)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        ReplyEnvelope.Write(buffer, reply);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
