using System.Net.Http.Headers;
using Kv4.Server.Authentication;
using Kv4.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Server;

/// <summary>
/// The real server (Kestrel on 127.0.0.1, an ephemeral port) built in-process by <see cref="Kv4ServerApp"/>,
/// on a data directory that outlives a restart: <see cref="RestartAsync"/> stops it and starts a new one on the same files.
/// </summary>
public sealed class Kv4TestServer : IAsyncDisposable
{
    public const string SysSecret = "test-sys-secret-0123456789abcdef";

    private readonly string[] _extraArgs;
    private readonly Action<WebApplicationBuilder>? _configure;
    private readonly bool _ownsDataDir;
    private WebApplication? _app;

    private Kv4TestServer(string dataDir, bool ownsDataDir, string[] extraArgs, Action<WebApplicationBuilder>? configure)
    {
        DataDir = dataDir;
        _ownsDataDir = ownsDataDir;
        _extraArgs = extraArgs;
        _configure = configure;
    }

    public string DataDir { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    /// <summary>Starts a server. Without <paramref name="sysSecret"/> the `$sys` secret is <see cref="SysSecret"/>; pass "" to let the server generate one.</summary>
    public static async Task<Kv4TestServer> StartAsync(string[]? extraArgs = null, Action<WebApplicationBuilder>? configure = null,
        string? dataDir = null, string? sysSecret = SysSecret)
    {
        var owns = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "kv4-test-" + Guid.NewGuid().ToString("N"));
        var args = new List<string> { "--urls", "http://127.0.0.1:0", $"--Kv4:DataDir={dataDir}", "--Kv4:Durability=sync",
            // Recorded api:3 stats are flushed into the store on this interval; tests that prove "nothing written" need it quiet.
            "--Kv4:Stats:FlushSeconds=86400" };
        if (!string.IsNullOrEmpty(sysSecret)) args.Add($"--Kv4:SysSecret={sysSecret}");
        args.AddRange(extraArgs ?? []);
        var server = new Kv4TestServer(dataDir, owns, args.ToArray(), configure);
        await server.StartAppAsync();
        return server;
    }

    private async Task StartAppAsync()
    {
        var app = Kv4ServerApp.Build(_extraArgs, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new CapturingLoggerProvider(Logs));
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            _configure?.Invoke(builder);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        var engine = app.Services.GetRequiredService<EngineLifetime>();
        await engine.WhenOpenAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (!engine.IsReady) throw new InvalidOperationException("the engine did not open: " + string.Join("\n", Logs));
        _app = app;
    }

    /// <summary>Every log line the server wrote (level, category, message, exception), for tests that check logging.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Logs { get; } = new();

    public async Task StopAsync()
    {
        if (_app is null) return;
        var app = _app;
        _app = null;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30))) await app.StopAsync(timeout.Token);
        await app.DisposeAsync();
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAppAsync();
    }

    /// <summary>A client without credentials.</summary>
    public HttpClient Client() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>A client that sends Basic credentials for this login.</summary>
    public HttpClient Client(string userName, string password)
    {
        var client = Client();
        client.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(BasicCredential.Header(userName, password));
        return client;
    }

    public HttpClient SystemClient() => Client("$sys", SysSecret);

    /// <summary>A client whose connections leave from <paramref name="source"/> (any 127.x address reaches the server).</summary>
    public HttpClient ClientFrom(System.Net.IPAddress source)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                try
                {
                    socket.Bind(new System.Net.IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>A client from <paramref name="source"/> that sends Basic credentials for this login.</summary>
    public HttpClient ClientFrom(System.Net.IPAddress source, string userName, string password)
    {
        var client = ClientFrom(source);
        client.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(BasicCredential.Header(userName, password));
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDataDir)
        {
            try { Directory.Delete(DataDir, recursive: true); }
            catch (IOException) { }
        }
    }

    private sealed class CapturingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (lines.Count < 10_000) lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
            }
        }
    }
}
