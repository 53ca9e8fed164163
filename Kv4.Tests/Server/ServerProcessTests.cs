using System.Net;
using System.Text.Json;
using Kv4.Server.Configuration;
using Kv4.Tests.Support;

namespace Kv4.Tests.Server;

/// <summary>
/// The server as a user starts it: `dotnet Kv4.Server.dll` in its own process, configured only through the
/// public knobs — `--urls`, `KV4_SYS_SECRET` and `Kv4__...` environment variables — with its JSON console logs
/// (its output is not a terminal).
/// </summary>
[Trait("Category", "Integration")]
public sealed class ServerProcessTests
{
    private static readonly TimeSpan Patience = ServerProcess.Patience;

    [Fact]
    public async Task Environment_knobs_reach_the_server_and_its_logs_are_json()
    {
        using var work = new Kv4.Tests.Engine.Support.TempDirectory("server-process");
        var dataDir = Path.Combine(work.Path, "custom-data");
        var sysSecret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using var process = ServerProcess.Start(work.Path, new Dictionary<string, string>
        {
            ["KV4_SYS_SECRET"] = sysSecret,
            ["Kv4__DataDir"] = dataDir,
            ["Kv4__Durability"] = "sync",
            ["Kv4__Api__ErrorsAsOk"] = "true",
            ["Kv4__Node__PublicUrl"] = "https://node1.example.com",
        });

        // Structured logs: every console line is a JSON object; Kestrel's address comes out of one of them.
        const string listening = "Now listening on: ";
        var line = await process.WaitForLineAsync(l => l.Contains("\"Message\":\"" + listening, StringComparison.Ordinal));
        Uri address;
        using (var json = JsonDocument.Parse(line))
            address = new Uri(json.RootElement.GetProperty("Message").GetString()![listening.Length..]);
        foreach (var logged in process.Output.Split('\n'))
        {
            using var json = JsonDocument.Parse(logged);
            Assert.True(json.RootElement.TryGetProperty("Category", out _), logged);
            Assert.True(json.RootElement.TryGetProperty("Timestamp", out _), logged);
        }

        using var timeout = new CancellationTokenSource(Patience);
        using var anonymous = new HttpClient { BaseAddress = address, Timeout = Patience };
        while ((await anonymous.GetAsync("/readyz", timeout.Token)).StatusCode != HttpStatusCode.OK)
            await Task.Delay(50, timeout.Token);

        // KV4_SYS_SECRET is the $sys secret: it creates an account; nothing was generated into the data directory.
        using var sys = Client(address, "$sys", sysSecret);
        var elenaSecret = (await sys.PutReplyAsync("/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com"}}""")).IsOk()
            .V.GetProperty("secret").GetString()!;
        Assert.False(File.Exists(Path.Combine(dataDir, ServerSecrets.SysSecretFile)));
        Assert.True(Directory.Exists(Path.Combine(dataDir, "log")), "Kv4__DataDir holds the log");

        // Kv4__Api__ErrorsAsOk: application errors come with HTTP 200 and the same body.
        using var wrong = Client(address, "$sys", "not-the-secret");
        (await wrong.GetReplyAsync("/_acc/accounts")).IsError("unauthorized", HttpStatusCode.OK);
        using var elena = Client(address, "elena", elenaSecret);
        (await elena.GetReplyAsync("/_data/none?k=absent")).IsError("not_found", HttpStatusCode.OK);

        // Kv4__Node__PublicUrl: the signal base, https mapped to wss.
        Assert.Equal("wss://node1.example.com/ws", (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString());

        // The startup notice names where the secret comes from, never the secret.
        await process.WaitForLineAsync(l => l.Contains("the $sys secret comes from the KV4_SYS_SECRET environment variable", StringComparison.Ordinal));
        Assert.DoesNotContain(sysSecret, process.Output);
    }

    private static HttpClient Client(Uri address, string user, string secret)
    {
        var client = new HttpClient { BaseAddress = address, Timeout = Patience };
        client.DefaultRequestHeaders.Authorization = System.Net.Http.Headers.AuthenticationHeaderValue.Parse(
            Kv4.Server.Authentication.BasicCredential.Header(user, secret));
        return client;
    }
}
