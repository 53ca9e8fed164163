using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Kv4.Tests.Server;
using Kv4.Tests.Support;

namespace Kv4.Tests.Cli;

/// <summary>
/// A real Kv4 server process for the kv4 command line to talk to (fresh data directory, a known `$sys` secret, stats
/// flushed every second), with accounts made over plain HTTP. It can be stopped hard and started
/// again on the same data directory and port, as an operator restarting a node would.
/// </summary>
internal sealed class CliServer : IAsyncDisposable
{
    private readonly Kv4.Tests.Engine.Support.TempDirectory _work = new("cli");
    private readonly Dictionary<string, string> _environment;
    private readonly string _urls;
    private ServerProcess? _process;

    private CliServer(string urls, bool durable, string? dataDirectory)
    {
        _urls = urls;
        SysSecret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        _environment = new Dictionary<string, string>
        {
            ["KV4_SYS_SECRET"] = SysSecret,
            ["Kv4__DataDir"] = dataDirectory ?? Path.Combine(_work.Path, "data"),
            ["Kv4__Stats__FlushSeconds"] = "1",
        };
        // A server that is killed and started again keeps every write it acknowledged only with sync durability.
        if (durable) _environment["Kv4__Durability"] = "sync";
    }

    public Uri Url { get; private set; } = null!;

    public string SysSecret { get; }

    /// <summary>A scratch directory for the test's files, deleted with the server.</summary>
    public string WorkPath => _work.Path;

    /// <summary>
    /// On a port of the system's choosing; with <paramref name="restartable"/> on a free port picked now and kept across
    /// restarts, and with sync durability, so a kill loses nothing it acknowledged.
    /// </summary>
    /// <param name="dataDirectory">An existing data directory to serve (a restored one); null: a new one of its own.</param>
    public static async Task<CliServer> StartAsync(bool restartable = false, string? dataDirectory = null)
    {
        var server = new CliServer(restartable ? $"http://127.0.0.1:{FreePorts.Next()}" : "http://127.0.0.1:0", durable: restartable, dataDirectory);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Kills the process (no graceful stop) and starts a new one on the same data directory and URL.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartProcessAsync();
    }

    public async Task StopAsync()
    {
        if (_process is null) return;
        await _process.DisposeAsync();
        _process = null;
    }

    /// <summary>Creates an account as `$sys`; answers its secret.</summary>
    public async Task<string> CreateAccountAsync(string name)
    {
        using var sys = Client("$sys", SysSecret);
        var reply = (await sys.PutReplyAsync("/_acc/accounts", $$$"""{"k":"{{{name}}}","v":{"email":"{{{name}}}@example.com"}}""")).IsOk();
        return reply.V.GetProperty("secret").GetString()!;
    }

    /// <summary>An HTTP client with this login, for setting up and checking behind the command line's back.</summary>
    public HttpClient Client(string user, string secret)
    {
        var client = new HttpClient { BaseAddress = Url, Timeout = ServerProcess.Patience };
        client.DefaultRequestHeaders.Authorization = System.Net.Http.Headers.AuthenticationHeaderValue.Parse(
            Kv4.Server.Authentication.BasicCredential.Header(user, secret));
        return client;
    }

    /// <summary>The environment a user of kv4 sets for this server and login.</summary>
    public Dictionary<string, string> Login(string user, string secret) => new()
    {
        ["KV4_URL"] = Url.ToString(),
        ["KV4_USER"] = user,
        ["KV4_SECRET"] = secret,
    };

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _work.Dispose();
    }

    private async Task StartProcessAsync()
    {
        _process = ServerProcess.Start(_work.Path, _environment, _urls);
        const string listening = "Now listening on: ";
        var line = await _process.WaitForLineAsync(l => l.Contains("\"Message\":\"" + listening, StringComparison.Ordinal));
        using (var json = JsonDocument.Parse(line))
            Url = new Uri(json.RootElement.GetProperty("Message").GetString()![listening.Length..]);
        using var timeout = new CancellationTokenSource(ServerProcess.Patience);
        using var anonymous = new HttpClient { BaseAddress = Url, Timeout = ServerProcess.Patience };
        while ((await anonymous.GetAsync("/readyz", timeout.Token)).StatusCode != HttpStatusCode.OK)
            await Task.Delay(50, timeout.Token);
    }
}
