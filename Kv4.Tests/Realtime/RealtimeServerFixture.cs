using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Realtime;

/// <summary>
/// One real Kv4 server (Kestrel on 127.0.0.1, real engine) with two accounts, elena and mark, and elena's channels
/// "room", "lobby" "denied-room" and others. Frames over 4096 bytes are refused.
/// </summary>
public sealed class RealtimeServerFixture : IAsyncLifetime
{
    public const string NodeId = "rt-node";
    public const int MaxFrameBytes = 4096;

    public Kv4TestServer Server { get; private set; } = null!;

    public string ElenaSecret { get; private set; } = "";

    public string MarkSecret { get; private set; } = "";

    public const string ElenaPassword = "elena password 1";

    public async Task InitializeAsync()
    {
        Server = await Kv4TestServer.StartAsync(RealtimeArgs());
        ElenaSecret = await CreateAccountAsync(Server, "elena", ElenaPassword);
        MarkSecret = await CreateAccountAsync(Server, "mark", "mark password 1");
        using var elena = Elena();
        // One channel per test, so a test never sees a member another test left behind while it is still leaving.
        foreach (var channel in new[] { "room", "join-room", "lobby", "lobby-open", "denied-room", "refusals", "kick", "kick/sub", "replace", "presence",
                     "limits", "limits-size", "bucket-room", "slow", "scope", "other" })
            (await elena.PutReplyAsync("/_ns/" + channel)).IsOk();
        using var mark = Mark();
        (await mark.PutReplyAsync("/_ns/bucket-room")).IsOk();
    }

    public static string[] RealtimeArgs(int idleSeconds = 120) =>
    [
        $"--Kv4:Node:Id={NodeId}",
        $"--Kv4:Signal:MaxFrameBytes={MaxFrameBytes}",
        $"--Kv4:Signal:IdleTimeoutSeconds={idleSeconds}",
        // Fewer PBKDF2 rounds would be nice for speed, but the login path is tested as configured.
    ];

    public static async Task<string> CreateAccountAsync(Kv4TestServer server, string name, string password)
    {
        using var sys = server.SystemClient();
        var reply = (await sys.PutReplyAsync("/_acc/accounts", JsonSerializer.Serialize(new { k = name, v = new { email = name + "@example.com", password } }))).IsOk();
        return reply.V.GetProperty("secret").GetString()!;
    }

    public HttpClient Elena() => Server.Client("elena", ElenaSecret);

    public HttpClient Mark() => Server.Client("mark", MarkSecret);

    /// <summary>`PUT /_token/&lt;channel&gt;?k=&lt;user&gt;` as elena (or <paramref name="client"/>).</summary>
    public async Task<string> TokenAsync(string channel, string user, HttpClient? client = null)
    {
        using var own = client is null ? Elena() : null;
        var reply = (await (client ?? own!).PutReplyAsync($"/_token/{channel}?k={user}")).IsOk();
        return reply.V.GetString()!;
    }

    /// <summary>The signal base from `_host`, then `&lt;base&gt;/v2/&lt;token&gt;` as the Xirsys client builds it.</summary>
    public async Task<Uri> SignalUriAsync(string token, string query = "")
    {
        using var elena = Elena();
        var host = (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;
        return new Uri(host + "/v2/" + token + query);
    }

    public async Task<SignalClient> JoinAsync(string channel, string user, HttpClient? client = null) =>
        await SignalClient.ConnectAsync(await SignalUriAsync(await TokenAsync(channel, user, client)));

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
