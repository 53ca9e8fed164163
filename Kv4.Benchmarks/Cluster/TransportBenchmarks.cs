using System.Net;
using BenchmarkDotNet.Attributes;
using Kv4.Cluster.Bus;
using Kv4.Cluster.Replication;
using Kv4.Cluster.Routing;
using Kv4.Cluster.Transport;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv4.Benchmarks.Cluster;

/// <summary>
/// The two transports the cluster issue names, for the two calls nodes make most, on loopback in one process: the
/// node bus (framed MessagePack over TCP with System.IO.Pipelines, one connection per node pair, calls matched by id)
/// against HTTP/2 (HttpClient to a Kestrel endpoint, cleartext, one connection, streams multiplexed), both carrying
/// the same MessagePack message and answering the same reply: a forwarded GET (a key read: StoreGet → a 108-byte
/// value) and a replicated PUT (a primary's record to a backup: Replicate with one ~200-byte record → Replicated).
/// <see cref="Concurrency"/> calls are in flight at once, as requests of many clients are on a node.
/// </summary>
[MemoryDiagnoser]
public class TransportBenchmarks
{
    private static readonly byte[] Value = System.Text.Encoding.UTF8.GetBytes(
        """{"name":"Elena Novak","email":"elena@example.com","plan":"pro","active":true,"score":12345,"tags":["a","b"]}""");

    private readonly StoreGet _get = new() { Bucket = "bench", Layer = "data", Path = "bench/users", Key = "user000001" };
    private readonly Replicate _replicate = new() { Partition = 7, Epoch = 1, Records = [new byte[200]], Acknowledged = 41 };
    private ClusterListener _listener = null!;
    private NodeBus _server = null!;
    private NodeBus _client = null!;
    private WebApplication _kestrel = null!;
    private HttpClient _http = null!;
    private string _url = "";

    [Params(1, 32)]
    public int Concurrency { get; set; }

    private sealed class Answers : IBusHandler
    {
        public ValueTask<BusMessage> HandleAsync(string peer, BusMessage request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Answer(request));

        public void Notice(string peer, BusMessage notice) { }
    }

    private static BusMessage Answer(BusMessage request) => request switch
    {
        StoreGet => new StoreValue { Found = true, Json = Value, Version = 824633720833, TimestampMs = 1764000000000, Actor = "bench" },
        Replicate r => new Replicated { Applied = r.Acknowledged + 1, Durable = r.Acknowledged + 1 },
        _ => Done.Instance,
    };

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var key = ClusterKey.FromText("transport benchmark secret");
        var endpoint = new IPEndPoint(IPAddress.Loopback, FreePort());
        _server = new NodeBus(key, "server", _ => null, TimeSpan.FromSeconds(2), NullLogger.Instance);
        _server.Attach(new Answers());
        _listener = new ClusterListener(endpoint, key, "server", _server.AcceptAsync, NullLogger.Instance);
        _client = new NodeBus(key, "client", _ => endpoint, TimeSpan.FromSeconds(2), NullLogger.Instance);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = FreePort();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        _kestrel = builder.Build();
        _kestrel.MapPost("/bus", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var request = MessagePackSerializer.Deserialize<BusMessage>(body.GetBuffer().AsMemory(0, (int)body.Length), BusSerializer.Options);
            context.Response.ContentType = "application/x-msgpack";
            await context.Response.Body.WriteAsync(MessagePackSerializer.Serialize(Answer(request), BusSerializer.Options));
        });
        await _kestrel.StartAsync();
        _url = $"http://127.0.0.1:{port}/bus";
        _http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = false })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        // Both connections open before measuring.
        await ForwardedGetBus();
        await ForwardedGetHttp2();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _http.Dispose();
        await _kestrel.DisposeAsync();
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        await _listener.DisposeAsync();
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private Task ManyAsync(Func<Task> call) =>
        Concurrency == 1 ? call() : Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => call()));

    private async Task<BusMessage> OverHttp2(BusMessage request)
    {
        using var content = new ByteArrayContent(MessagePackSerializer.Serialize(request, BusSerializer.Options));
        using var response = await _http.PostAsync(_url, content);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return MessagePackSerializer.Deserialize<BusMessage>(bytes, BusSerializer.Options);
    }

    [Benchmark(Baseline = true, Description = "forwarded GET, bus")]
    public Task ForwardedGetBus() => ManyAsync(() => _client.CallAsync<StoreValue>("server", _get, TimeSpan.FromSeconds(10)));

    [Benchmark(Description = "forwarded GET, HTTP/2")]
    public Task ForwardedGetHttp2() => ManyAsync(() => OverHttp2(_get));

    [Benchmark(Description = "replicated PUT, bus")]
    public Task ReplicatedPutBus() => ManyAsync(() => _client.CallAsync<Replicated>("server", _replicate, TimeSpan.FromSeconds(10)));

    [Benchmark(Description = "replicated PUT, HTTP/2")]
    public Task ReplicatedPutHttp2() => ManyAsync(() => OverHttp2(_replicate));
}
