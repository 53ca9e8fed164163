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
    public async Task Reply_has_stun_and_turn_udp_tcp_entries_with_urls_and_url_and_a_ttl_of_a_day_by_default()
    {
        var service = new TurnService(new TurnOptions { Hosts = ["turn.example.com"], Secret = "s" }, new ManualClock(Noon));
        var v = ApiCalls.Value(await service.HandleAsync(ApiCalls.Request(ApiMethod.Put, "turn", "")));
        var servers = v.GetProperty("iceServers").EnumerateArray().ToArray();
        Assert.Equal(3, servers.Length);
        Assert.Equal("stun:turn.example.com:3478", servers[0].GetProperty("urls").GetString());
        Assert.Equal("stun:turn.example.com:3478", servers[0].GetProperty("url").GetString());
        Assert.False(servers[0].TryGetProperty("credential", out _));
        Assert.Equal("turn:turn.example.com:3478?transport=udp", servers[1].GetProperty("url").GetString());
        Assert.Equal("turn:turn.example.com:3478?transport=tcp", servers[2].GetProperty("urls").GetString());
        var username = servers[1].GetProperty("username").GetString()!;
        Assert.Equal($"{Noon.AddDays(1).ToUnixTimeSeconds()}:elena", username);
        Assert.Equal(TurnRestCredentials.Credential("s"u8.ToArray(), username), servers[2].GetProperty("credential").GetString());
    }

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
