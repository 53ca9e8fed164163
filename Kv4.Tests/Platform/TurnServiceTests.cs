using System.Security.Cryptography;
using System.Text;
using Kv4.Services.Api;
using Kv4.Services.Turn;

namespace Kv4.Tests.Platform;

[Trait("Category", "Unit")]
public class TurnServiceTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 16, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Credential_is_base64_hmac_sha1_of_the_username()
    {
        var username = TurnRestCredentials.Username(DateTimeOffset.FromUnixTimeSeconds(1458109254), "elena");
        Assert.Equal("1458109254:elena", username);
        var expected = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes("s3cret"), Encoding.UTF8.GetBytes(username)));
        Assert.Equal(expected, TurnRestCredentials.Credential(Encoding.UTF8.GetBytes("s3cret"), username));
    }

    [Fact]
    public async Task By_default_the_reply_is_the_xirsys_set_stun_turn_on_80_and_3478_over_udp_and_tcp_and_turns_on_443_and_5349()
    {
        var service = new TurnService(new TurnOptions { Hosts = ["turn.example.com"], Secret = "s" }, new ManualClock(Noon));
        var v = ApiCalls.Value(await service.HandleAsync(ApiCalls.Request(ApiMethod.Put, "turn", "")));
        var servers = v.GetProperty("iceServers").EnumerateArray().ToArray();
        Assert.Equal(
            ["stun:turn.example.com:3478", "turn:turn.example.com:80?transport=udp", "turn:turn.example.com:3478?transport=udp",
                "turn:turn.example.com:80?transport=tcp", "turn:turn.example.com:3478?transport=tcp",
                "turns:turn.example.com:443?transport=tcp", "turns:turn.example.com:5349?transport=tcp"],
            servers.Select(s => s.GetProperty("url").GetString()));
        Assert.All(servers, s => Assert.Equal(s.GetProperty("url").GetString(), s.GetProperty("urls").GetString()));
        Assert.False(servers[0].TryGetProperty("credential", out _));
        Assert.False(servers[0].TryGetProperty("username", out _));
        var username = servers[1].GetProperty("username").GetString()!;
        Assert.Equal($"{Noon.AddDays(1).ToUnixTimeSeconds()}:elena", username);
        // One credential for every TURN entry of the reply.
        Assert.All(servers[1..], s =>
        {
            Assert.Equal(username, s.GetProperty("username").GetString());
            Assert.Equal(TurnRestCredentials.Credential("s"u8.ToArray(), username), s.GetProperty("credential").GetString());
        });
    }

    [Fact]
    public async Task The_ice_list_is_configured_for_all_hosts_and_per_host()
    {
        var service = new TurnService(new TurnOptions
        {
            Hosts = ["a.example.com:3479"],
            Ice = ["stun", "turn?transport=udp", "turns:443?transport=tcp"],
            Servers = [new TurnServerOptions { Host = "b.example.com", Ice = ["turn:80?transport=tcp"] }, new TurnServerOptions { Host = "[::1]:5000" }],
            Secret = "s",
        }, new ManualClock(Noon));
        async Task<string[]> Next() => ApiCalls.Value(await service.HandleAsync(ApiCalls.Request(ApiMethod.Put, "turn", "")))
            .GetProperty("iceServers").EnumerateArray().Select(s => s.GetProperty("url").GetString()!).ToArray();
        Assert.Equal(["stun:a.example.com:3479", "turn:a.example.com:3479?transport=udp", "turns:a.example.com:443?transport=tcp"], await Next());
        Assert.Equal(["turn:b.example.com:80?transport=tcp"], await Next());
        // A host without its own list takes the common one.
        Assert.Equal(["stun:[::1]:5000", "turn:[::1]:5000?transport=udp", "turns:[::1]:443?transport=tcp"], await Next());
    }

    [Theory]
    [InlineData("turn:0?transport=udp")]
    [InlineData("turn:80?transport=sctp")]
    [InlineData("stun?transport=udp")]
    [InlineData("http:80")]
    [InlineData("turn:80?foo=bar")]
    [InlineData("")]
    public void Malformed_ice_entries_are_refused_at_start(string entry) =>
        Assert.Throws<FormatException>(() => new TurnService(new TurnOptions { Hosts = ["h"], Ice = [entry], Secret = "s" }, TimeProvider.System));

    [Fact]
    public async Task Hosts_take_turns_by_recent_issues()
    {
        var clock = new ManualClock(Noon);
        var service = new TurnService(new TurnOptions { Hosts = ["a:1", "b:2"], Secret = "s" }, clock);
        async Task<string> Next() =>
            ApiCalls.Value(await service.HandleAsync(ApiCalls.Request(ApiMethod.Put, "turn", ""))).GetProperty("iceServers")[0].GetProperty("urls").GetString()!;
        Assert.Equal(["stun:a:1", "stun:b:2", "stun:a:1", "stun:b:2"], [await Next(), await Next(), await Next(), await Next()]);
    }

    [Fact]
    public async Task Without_configuration_there_is_no_service_host_and_only_put_is_served()
    {
        var none = new TurnService(new TurnOptions(), TimeProvider.System);
        Assert.Equal(ErrorCode.NoServiceHost, (await none.HandleAsync(ApiCalls.Request(ApiMethod.Put, "turn", ""))).Error);
        var some = new TurnService(new TurnOptions { Hosts = ["h"], Secret = "s" }, TimeProvider.System);
        Assert.Equal(ErrorCode.MethodNotAllowed, (await some.HandleAsync(ApiCalls.Request(ApiMethod.Delete, "turn", ""))).Error);
    }

    [Theory]
    [InlineData("h:0")]
    [InlineData("h:70000")]
    [InlineData("h/x:1")]
    [InlineData("")]
    public void Malformed_hosts_are_refused_at_start(string host) =>
        Assert.Throws<FormatException>(() => TurnHostPool.Normalize(host));
}
