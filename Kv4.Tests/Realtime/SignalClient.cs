using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Kv4.Tests.Realtime;

/// <summary>A real <see cref="ClientWebSocket"/> with a background reader that queues every text frame it gets.</summary>
public sealed class SignalClient : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly Channel<string> _frames = Channel.CreateUnbounded<string>();
    private readonly Task _reader;

    private SignalClient(ClientWebSocket socket)
    {
        Socket = socket;
        _reader = Task.Run(ReadAsync);
    }

    public ClientWebSocket Socket { get; }

    /// <summary>Completes when the server's close frame (or a broken socket) ends the reader.</summary>
    public Task Closed => _reader;

    public static async Task<SignalClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? options = null)
    {
        var socket = new ClientWebSocket();
        options?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(Wait);
        await socket.ConnectAsync(uri, timeout.Token);
        return new SignalClient(socket);
    }

    /// <summary>Tries to connect and returns the HTTP status the server refused the upgrade with.</summary>
    public static async Task<HttpStatusCode> RefusalAsync(Uri uri, Action<ClientWebSocketOptions>? options = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        options?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(Wait);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, timeout.Token));
        return socket.HttpStatusCode;
    }

    public Task SendAsync(string text) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next frame, failing the test if none comes within <see cref="Wait"/>.</summary>
    public async Task<string> NextAsync()
    {
        using var timeout = new CancellationTokenSource(Wait);
        try
        {
            return await _frames.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no frame within " + Wait);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"socket closed ({Socket.CloseStatus} {Socket.CloseStatusDescription}) while a frame was expected");
        }
    }

    public async Task<JsonElement> NextJsonAsync() => JsonDocument.Parse(await NextAsync()).RootElement;

    /// <summary>True if a frame is already queued (used after a later frame proved earlier ones would have arrived).</summary>
    public bool TryPeekQueued(out string frame) => _frames.Reader.TryRead(out frame!);

    public async Task<(WebSocketCloseStatus? Status, string? Description)> WaitClosedAsync()
    {
        await _reader.WaitAsync(Wait);
        return (Socket.CloseStatus, Socket.CloseStatusDescription);
    }

    public async Task CloseAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(Wait);
            try { await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token); }
            catch (WebSocketException) { }
        }
        await _reader.WaitAsync(Wait);
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    result = await Socket.ReceiveAsync(buffer.AsMemory(length).ToArraySegment(), CancellationToken.None);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (Socket.State == WebSocketState.CloseReceived)
                        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    return;
                }
                _frames.Writer.TryWrite(Encoding.UTF8.GetString(buffer, 0, length));
            }
        }
        catch (WebSocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await CloseAsync(); }
        catch (Exception) { Socket.Abort(); }
        Socket.Dispose();
    }
}

internal static class MemoryExtensions
{
    public static ArraySegment<byte> ToArraySegment(this Memory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(memory, out var segment) ? segment : throw new InvalidOperationException();
}
