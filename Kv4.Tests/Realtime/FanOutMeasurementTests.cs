using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Kv4.Tests.Server;
using Xunit.Abstractions;

namespace Kv4.Tests.Realtime;

/// <summary>
/// Broadcast fan-out on one channel with 1000 real WebSocket clients against the real server on 127.0.0.1.
/// It measures (messages delivered per second, latency percentiles) and asserts only that every client got
/// every message: timing depends on the machine. With KV4_WRITE_BENCHMARKS=1 the figures also replace the
/// "Realtime fan-out" section of docs/benchmarks.md.
/// </summary>
[Trait("Category", "Integration")]
public sealed class FanOutMeasurementTests(ITestOutputHelper output)
{
    private const int Clients = 1000;
    private const int PacedMessages = 20;
    private const int BurstMessages = 100;

    [Fact]
    public async Task Broadcast_to_1000_members_of_one_channel_reaches_every_member()
    {
        // Queues large enough for the join storm: each join sends peer_connected to everyone already there.
        await using var server = await Kv4TestServer.StartAsync([.. RealtimeServerFixture.RealtimeArgs(), "--Kv4:Signal:SendQueueFrames=8192"]);
        var setup = new RealtimeServerFixtureOn(server);
        await setup.SetUpAsync();
        using var elena = setup.Elena();
        var host = (await elena.GetReplyAsync("/_host?type=signal")).IsOk().V.GetString()!;

        var joinWatch = Stopwatch.StartNew();
        var receivers = new FanOutReceiver[Clients - 1];
        SignalClientRaw? sender = null;
        using (var throttle = new SemaphoreSlim(32))
        {
            var tasks = Enumerable.Range(0, Clients).Select(async i =>
            {
                await throttle.WaitAsync();
                try
                {
                    var token = (await elena.PutReplyAsync($"/_token/room?k=u{i:D4}&expire=600")).IsOk().V.GetString()!;
                    var socket = await SignalClientRaw.ConnectAsync(new Uri(host + "/v2/" + token));
                    if (i == 0) sender = socket;
                    else receivers[i - 1] = new FanOutReceiver(socket);
                }
                finally
                {
                    throttle.Release();
                }
            });
            await Task.WhenAll(tasks);
        }
        var joinSeconds = joinWatch.Elapsed.TotalSeconds;
        Assert.NotNull(sender);
        foreach (var receiver in receivers) receiver.Start();
        _ = sender.DrainAsync(); // the sender's own peers/peer_connected frames
        // Warm-up: once every member has this message, the join storm's backlog is behind them all.
        await FanOutMeasurement.MeasureAsync(sender, receivers, "warmup", 1, TimeSpan.Zero);

        // Paced: one message every 50 ms, so latency is the path through the server rather than queueing.
        var paced = await FanOutMeasurement.MeasureAsync(sender, receivers, "paced", PacedMessages, TimeSpan.FromMilliseconds(50));
        // Burst: everything at once, so the rate is what the server sustains.
        var burst = await FanOutMeasurement.MeasureAsync(sender, receivers, "burst", BurstMessages, TimeSpan.Zero);

        var report = Report(joinSeconds, paced, burst);
        output.WriteLine(report);
        if (Environment.GetEnvironmentVariable("KV4_WRITE_BENCHMARKS") == "1") FanOutMeasurement.WriteSection("## Realtime fan-out", report);

        await sender.DisposeAsync();
        await Task.WhenAll(receivers.Select(r => r.DisposeAsync().AsTask()));
    }

    private static string Report(double joinSeconds, FanOutMeasurement.Phase paced, FanOutMeasurement.Phase burst)
    {
        var sb = new StringBuilder();
        sb.AppendLine("## Realtime fan-out");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"One channel, {Clients} members (real `ClientWebSocket`s in the test process), one sender, every message to the");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{Clients - 1} others; server and clients share the 2 cores, so the figures are a floor. Latency is from the");
        sb.AppendLine("sender's `SendAsync` to a receiver's frame, one clock. Measured by");
        sb.AppendLine("`KV4_WRITE_BENCHMARKS=1 dotnet test -c Release Kv4.Tests --filter FullyQualifiedName~FanOutMeasurementTests`");
        sb.AppendLine(CultureInfo.InvariantCulture, $"(measured {DateTime.UtcNow:yyyy-MM-dd}; the test asserts only that every member got every message).");
        sb.AppendLine();
        sb.AppendLine("| phase | messages | deliveries | deliveries/s | p50 ms | p99 ms | max ms |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var p in new[] { paced, burst })
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Name} | {p.Messages} | {p.Deliveries} | {p.Deliveries / p.Seconds:N0} | {p.Percentile(0.50):F1} | {p.Percentile(0.99):F1} | {p.Percentile(1.0):F1} |");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Joining the {Clients} members (token, `_host`, upgrade, `peers`; each join also sends `peer_connected` to all");
        sb.AppendLine(CultureInfo.InvariantCulture, $"members already there, {Clients * (Clients - 1) / 2:N0} frames in all) took {joinSeconds:F1} s. Paced: one message every 50 ms,");
        sb.AppendLine("so its rate is set by the pacing and its latency is one message crossing the server to 999 sockets;");
        sb.AppendLine("burst: all sent back to back, so its rate is what server and clients sustain together and its latency");
        sb.AppendLine("is mostly queueing behind the earlier messages.");
        return sb.ToString();
    }
}

/// <summary>A lean client for the fan-out measurement: a callback per frame, no queue, no per-frame string.</summary>
internal sealed class SignalClientRaw : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;

    private SignalClientRaw(ClientWebSocket socket) => _socket = socket;

    public static async Task<SignalClientRaw> ConnectAsync(Uri uri)
    {
        var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await socket.ConnectAsync(uri, timeout.Token);
        return new SignalClientRaw(socket);
    }

    public Task SendAsync(string text) => _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public delegate void FrameHandler(ReadOnlySpan<byte> frame);

    public async Task ReadAsync(FrameHandler onFrame)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) return;
                onFrame(buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
        }
    }

    public Task DrainAsync() => ReadAsync(static _ => { });

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            if (_socket.State == WebSocketState.Open) await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Dispose();
    }
}
