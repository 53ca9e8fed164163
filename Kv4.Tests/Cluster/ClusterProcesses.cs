using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Kv4.Tests.Engine.Support;
using Kv4.Tests.Support;

namespace Kv4.Tests.Cluster;

/// <summary>
/// A Kv4 cluster of real server processes on 127.0.0.1, each with its own data directory, HTTP port and cluster port
/// (all picked free). Nodes can be killed (SIGKILL), frozen (SIGSTOP) and thawed, restarted on their own data, and a
/// new node can join. Waits are on readiness (`/readyz`) and on what the API answers, never on sleeps. Every process
/// is killed and every directory removed on dispose.
/// </summary>
internal sealed class ClusterProcesses : IAsyncDisposable
{
    public const string Secret = "cluster-test-secret-0123456789abcdef";
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly TempDirectory _root = new("kv4-cluster");
    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, string> _extra;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private ClusterProcesses(IReadOnlyDictionary<string, string> extra) => _extra = extra;

    public sealed class Node(string name, int httpPort, int clusterPort, string dataDirectory)
    {
        public string Name { get; } = name;
        public int HttpPort { get; } = httpPort;
        public int ClusterPort { get; } = clusterPort;
        public string DataDirectory { get; } = dataDirectory;
        public string Url => $"http://127.0.0.1:{HttpPort}";
        public string Endpoint => $"127.0.0.1:{ClusterPort}";
        public ServerProcess? Process { get; set; }
        public bool Frozen { get; set; }
    }

    public IReadOnlyCollection<Node> Nodes => _nodes.Values;

    public Node this[string name] => _nodes[name];

    /// <summary>Starts <paramref name="count"/> founding members n1..nN and waits until every one is ready.</summary>
    public static async Task<ClusterProcesses> StartAsync(int count, IReadOnlyDictionary<string, string>? settings = null)
    {
        var cluster = new ClusterProcesses(settings ?? new Dictionary<string, string>());
        try
        {
            for (var i = 1; i <= count; i++) cluster.Add($"n{i}");
            var initial = string.Join(',', cluster._nodes.Values.Select(n => $"{n.Name}={n.Endpoint}"));
            foreach (var node in cluster._nodes.Values) cluster.Launch(node, initial, join: null);
            foreach (var node in cluster._nodes.Values) await cluster.WaitReadyAsync(node);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private Node Add(string name)
    {
        var node = new Node(name, FreePorts.Next(), FreePorts.Next(), Path.Combine(_root.Path, name));
        Directory.CreateDirectory(node.DataDirectory);
        _nodes[name] = node;
        return node;
    }

    private string InitialText => string.Join(',', _nodes.Values.Where(n => !n.Name.StartsWith("j", StringComparison.Ordinal)).Select(n => $"{n.Name}={n.Endpoint}"));

    private void Launch(Node node, string? initial, string? join)
    {
        var environment = new Dictionary<string, string>
        {
            ["KV4_SYS_SECRET"] = Secret,
            ["Kv4__DataDir"] = node.DataDirectory,
            ["Kv4__Durability"] = "Sync",
            ["Kv4__Node__PublicUrl"] = node.Url,
            ["Kv4__Node__Id"] = node.Name,
            ["Kv4__Cluster__Name"] = node.Name,
            ["Kv4__Cluster__Listen"] = node.Endpoint,
            ["Logging__LogLevel__Kv4.Cluster"] = Environment.GetEnvironmentVariable("KV4_CLUSTER_TEST_LOG") ?? "Information",
            // The consensus library's own warnings: what a node stuck before its first state would show.
            ["Logging__LogLevel__DotNext"] = "Warning",
        };
        if (initial is not null) environment["Kv4__Cluster__Initial"] = initial;
        if (join is not null) environment["Kv4__Cluster__Join"] = join;
        foreach (var (key, value) in _extra) environment[key] = value;
        node.Process = ServerProcess.Start(node.DataDirectory, environment, node.Url);
        node.Frozen = false;
    }

    /// <summary>A new node that joins through <paramref name="through"/>; waits until it is ready.</summary>
    public async Task<Node> JoinAsync(string name, string through)
    {
        var node = Add(name);
        Launch(node, initial: null, join: this[through].Endpoint);
        await WaitReadyAsync(node);
        return node;
    }

    /// <summary>
    /// Waits until <paramref name="name"/>, decommissioned, is gone from the members <paramref name="askedOn"/> knows and
    /// its process has stopped (a removed node exits by itself), then lets go of the process.
    /// </summary>
    public async Task WaitLeftAsync(string name, string askedOn)
    {
        await WaitUntilAsync(async () =>
        {
            var (_, body) = await SendAsync(askedOn, HttpMethod.Get, "/_cluster");
            return body.GetProperty("v").GetProperty("members").EnumerateArray().All(m => m.GetProperty("name").GetString() != name);
        }, $"{name} removed from the members");
        await WaitUntilAsync(() => Task.FromResult(this[name].Process?.HasExited ?? true), $"{name} stopped once removed");
        await KillAsync(name);
    }

    /// <summary>SIGKILL: no flush, no goodbye.</summary>
    public async Task KillAsync(string name)
    {
        var node = this[name];
        if (node.Process is { } process) await process.DisposeAsync();
        node.Process = null;
    }

    /// <summary>Starts a stopped node again on its own data directory and ports; waits until it is ready.</summary>
    public async Task RestartAsync(string name, bool waitReady = true)
    {
        var node = this[name];
        if (node.Process is not null) throw new InvalidOperationException($"{name} is running");
        Launch(node, node.Name.StartsWith('j') ? null : InitialText, node.Name.StartsWith('j') ? _nodes.Values.First(n => n.Name == "n1").Endpoint : null);
        if (waitReady) await WaitReadyAsync(node);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private const int Sigstop = 19, Sigcont = 18;

    /// <summary>SIGSTOP: the process is frozen as a partitioned node would be, its sockets open.</summary>
    public void Freeze(string name)
    {
        var node = this[name];
        if (kill(node.Process!.Id, Sigstop) != 0) throw new InvalidOperationException($"SIGSTOP failed: {Marshal.GetLastPInvokeError()}");
        node.Frozen = true;
    }

    public void Thaw(string name)
    {
        var node = this[name];
        if (kill(node.Process!.Id, Sigcont) != 0) throw new InvalidOperationException($"SIGCONT failed: {Marshal.GetLastPInvokeError()}");
        node.Frozen = false;
    }

    public async Task WaitReadyAsync(Node node)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            try
            {
                using var response = await _http.GetAsync(node.Url + "/readyz", timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!timeout.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{node.Name} not ready within {Patience.TotalSeconds} s:\n{node.Process?.Output}");
            }
            if (node.Process is null) throw new InvalidOperationException($"{node.Name} is not running");
            if (node.Process.HasExited) throw new InvalidOperationException($"{node.Name} exited before it was ready:\n{node.Process.Output}");
            try { await Task.Delay(50, timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"{node.Name} not ready within {Patience.TotalSeconds} s:\n{node.Process?.Output}"); }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, asking again every 50 ms; the message says what was awaited.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? patience = null)
    {
        using var timeout = new CancellationTokenSource(patience ?? Patience);
        while (!await condition())
        {
            try { await Task.Delay(50, timeout.Token); }
            catch (OperationCanceledException) { throw new TimeoutException(what); }
        }
    }

    /// <summary>Creates an account through <paramref name="node"/> as `$sys`; answers its secret.</summary>
    public async Task<string> CreateAccountAsync(string name, string node = "n1")
    {
        var (status, body) = await SendAsync(node, HttpMethod.Put, "/_acc/accounts", $$$"""{"k":"{{{name}}}","v":{"email":"{{{name}}}@example.com"}}""");
        if (status != HttpStatusCode.OK) throw new InvalidOperationException($"creating {name}: {status} {body.GetRawText()}{Logs}");
        return body.GetProperty("v").GetProperty("secret").GetString()!;
    }

    /// <summary>A request to a node as `$sys` (or with <paramref name="user"/> and <paramref name="secret"/>); the reply's status and body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(string node, HttpMethod method, string pathAndQuery, string? body = null,
        string user = "$sys", string secret = Secret, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, this[node].Url + pathAndQuery);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{secret}")));
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        using var document = JsonDocument.Parse(string.IsNullOrEmpty(text) ? "null" : text);
        return (response.StatusCode, document.RootElement.Clone());
    }

    /// <summary>`GET /_cluster/partitions` on <paramref name="node"/>: one element a partition.</summary>
    public async Task<List<JsonElement>> PartitionsAsync(string node)
    {
        var (_, body) = await SendAsync(node, HttpMethod.Get, "/_cluster/partitions");
        return [.. body.GetProperty("v").EnumerateArray()];
    }

    /// <summary>Everything every node wrote, for a failure's message.</summary>
    public string Logs => string.Join("\n\n", _nodes.Values.Select(n => $"==== {n.Name}\n{n.Process?.Output ?? "(stopped)"}"));

    public async ValueTask DisposeAsync()
    {
        // For a failure's story: every node's output, when the environment asks for it.
        if (Environment.GetEnvironmentVariable("KV4_CLUSTER_TEST_LOGS") is { Length: > 0 } folder)
            foreach (var node in _nodes.Values)
                File.WriteAllText(Path.Combine(folder, $"{node.Name}-{Guid.NewGuid():N}.log"), node.Process?.Output ?? "(stopped)");
        foreach (var node in _nodes.Values)
        {
            if (node.Process is not { } process) continue;
            if (node.Frozen)
            {
                try { Thaw(node.Name); }
                catch (InvalidOperationException) { }
            }
            await process.DisposeAsync();
        }
        _http.Dispose();
        _root.Dispose();
    }
}
