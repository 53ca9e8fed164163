using Kv4.Services.Api;
using Kv4.Services.Turn;
using Kv4.Tests.Support;

namespace Kv4.Tests.Platform;

/// <summary>
/// `_turn` credentials checked by a real coturn (`use-auth-secret`): issued ones allocate a relay, a tampered
/// one and an expired one are refused. Needs the Debian `coturn` package (`turnserver`, `turnutils_uclient`).
/// </summary>
[Trait("Category", "Integration")]
public class TurnCoturnEndToEndTests
{
    private const string Secret = "kv4-e2e-shared-secret";

    // The test coturn listens on one port without TLS, so the host is offered as STUN and TURN over UDP and TCP on that
    // port (port-less ICE entries take the host's port) rather than the default set's 80/443/5349.
    private static TurnService Service(int port, TimeProvider clock, int ttlSeconds = TurnOptions.DefaultTtlSeconds) =>
        new(new TurnOptions
        {
            Servers = [new TurnServerOptions { Host = $"127.0.0.1:{port}", Ice = ["stun", "turn?transport=udp", "turn?transport=tcp"] }],
            Secret = Secret, TtlSeconds = ttlSeconds,
        }, clock);

    private static async Task<(string Username, string Credential, string[] Urls)> IssueAsync(TurnService service, string? user = null)
    {
        var request = user is null
            ? ApiCalls.Request(ApiMethod.Put, "turn", "my/room")
            : ApiCalls.Request(ApiMethod.Put, "turn", "my/room", query: ("k", user));
        var v = ApiCalls.Value(await service.HandleAsync(request));
        var servers = v.GetProperty("iceServers").EnumerateArray().ToArray();
        var turnEntry = servers.First(s => s.GetProperty("urls").GetString()!.StartsWith("turn:", StringComparison.Ordinal));
        return (turnEntry.GetProperty("username").GetString()!, turnEntry.GetProperty("credential").GetString()!,
            servers.Select(s => s.GetProperty("urls").GetString()!).ToArray());
    }

    [ToolFact("turnserver", "turnutils_uclient")]
    public async Task Issued_credentials_allocate_a_relay_over_udp_and_tcp()
    {
        using var coturn = await CoturnProcess.StartAsync(Secret);
        var service = Service(coturn.Port, TimeProvider.System);
        var (username, credential, urls) = await IssueAsync(service, "lily");

        Assert.Equal(
            [$"stun:127.0.0.1:{coturn.Port}", $"turn:127.0.0.1:{coturn.Port}?transport=udp", $"turn:127.0.0.1:{coturn.Port}?transport=tcp"],
            urls);
        Assert.EndsWith(":lily", username);

        var udp = await coturn.AllocateAsync(username, credential);
        Assert.True(udp.ExitCode == 0, $"udp allocation refused ({udp.ExitCode}): {udp.Output}\ncoturn: {coturn.Log}");
        var tcp = await coturn.AllocateAsync(username, credential, tcp: true);
        Assert.True(tcp.ExitCode == 0, $"tcp allocation refused ({tcp.ExitCode}): {tcp.Output}\ncoturn: {coturn.Log}");
    }

    [ToolFact("turnserver", "turnutils_uclient")]
    public async Task Tampered_credentials_are_refused()
    {
        using var coturn = await CoturnProcess.StartAsync(Secret);
        var service = Service(coturn.Port, TimeProvider.System);
        var (username, credential, _) = await IssueAsync(service);

        // Control: the untouched credential works on this very server, so a refusal below is the tampering's doing.
        Assert.Equal(0, (await coturn.AllocateAsync(username, credential)).ExitCode);

        var flipped = (credential[0] == 'A' ? 'B' : 'A') + credential[1..];
        var wrongCredential = await coturn.AllocateAsync(username, flipped);
        Assert.NotEqual(0, wrongCredential.ExitCode);
        Assert.Contains("Cannot complete Allocation", wrongCredential.Output);

        // A later expiry in the username, keeping the credential: the HMAC no longer matches.
        var colon = username.IndexOf(':');
        var extended = (long.Parse(username[..colon]) + 86_400) + username[colon..];
        var extendedUsername = await coturn.AllocateAsync(extended, credential);
        Assert.NotEqual(0, extendedUsername.ExitCode);
    }

    [ToolFact("turnserver", "turnutils_uclient")]
    public async Task Expired_credentials_are_refused()
    {
        using var coturn = await CoturnProcess.StartAsync(Secret);
        // Issued by a service whose clock is two days behind: the one-day TTL ended yesterday.
        var past = new ManualClock(DateTimeOffset.UtcNow.AddDays(-2));
        var (username, credential, _) = await IssueAsync(Service(coturn.Port, past));
        Assert.True(long.Parse(username[..username.IndexOf(':')]) < DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        var expired = await coturn.AllocateAsync(username, credential);
        Assert.NotEqual(0, expired.ExitCode);
        Assert.Contains("Cannot complete Allocation", expired.Output);

        // Control: the same service with a current clock issues credentials this server accepts.
        var (fresh, freshCredential, _) = await IssueAsync(Service(coturn.Port, TimeProvider.System));
        Assert.Equal(0, (await coturn.AllocateAsync(fresh, freshCredential)).ExitCode);
    }
}
