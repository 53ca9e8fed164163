using System.Buffers;
using System.Net.WebSockets;
using Kv4.Engine.Rules;
using Kv4.Server.Authentication;
using Kv4.Server.Endpoints;
using Kv4.Server.Hosting;
using Kv4.Services;
using Kv4.Services.Api;
using Kv4.Services.Watch;

namespace Kv4.Server.Realtime;

/// <summary>
/// The watch streams of http-api.md §7 Watch, both fed by the engine's change feed for the caller's bucket:
/// <list type="bullet">
/// <item>`GET /_&lt;layer&gt;/&lt;prefix&gt;?watch=1[&amp;since=N]`: Server-Sent Events, one `id: &lt;seq&gt;` + `data: &lt;change&gt;`
///   block per change, a `: keep-alive` comment every 15 s; an EventSource's `Last-Event-ID` resumes like `since`.
///   Called by the API endpoint once it has authenticated the caller and checked the IP deny list.</item>
/// <item>`GET /ws/watch?l=&lt;layer&gt;&amp;path=&lt;prefix&gt;[&amp;since=N]`: a WebSocket, one change per text frame.
///   Credentials: the Authorization header (Basic or Bearer), or `?access_token=&lt;JWT&gt;` for browsers, which
///   cannot set headers on a WebSocket. Refusals happen before the upgrade.</item>
/// </list>
/// With `since`, the retained changes after that sequence are replayed first, then live ones follow; the engine's
/// feed guarantees no gap and no duplicate across that seam. A feed that cannot replay that far (truncated)
/// ends the stream with an error event (SSE) or close status 1008 (WebSocket).
/// </summary>
public sealed partial class WatchEndpoint(EngineLifetime engine, ReplyWriter replies, IHostApplicationLifetime lifetime, ILogger<WatchEndpoint> log)
{
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(15);

    /// <summary>True for requests the API endpoint must hand to <see cref="ServeSseAsync"/>.</summary>
    public static bool IsWatch(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Query.TryGetValue("watch", out var v) && v.ToString() is "1" or "true" or "yes";

    public async ValueTask<ApiReply> ServeSseAsync(HttpContext context, Caller caller, string layer, string path)
    {
        if (engine.Runtime?.Realtime is not { } realtime) return ApiReply.Fail(ErrorCode.Unavailable);
        var since = context.Request.Query["since"].ToString();
        if (since.Length == 0) since = context.Request.Headers["Last-Event-ID"].ToString();
        if (!WatchRequest.TryCreate(caller, layer, path, since.Length == 0 ? null : since, out var watch, out var error))
            return ApiReply.Fail(error);

        // Ends when the client goes or the node stops (Kestrel waits for open requests when it stops).
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var aborted = linked.Token;
        // The feed's starting point is pinned here, before the client sees the headers: whatever it writes once it
        // has them is in the stream.
        var feed = realtime.Store.ReadChangesAsync(watch.Filter, watch.AfterSequence, aborted);

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.WriteAsync(": watching " + watch.Layer + "/" + watch.PathPrefix + "\n\n", context.RequestAborted);
        await response.Body.FlushAsync(context.RequestAborted);

        var output = response.BodyWriter;
        await using var changes = feed.GetAsyncEnumerator(aborted);
        var next = Task.FromResult(false);
        try
        {
            next = changes.MoveNextAsync().AsTask();
            while (true)
            {
                var keepAlive = Task.Delay(KeepAliveEvery, aborted);
                if (await Task.WhenAny(next, keepAlive) != next)
                {
                    WriteAscii(output, ": keep-alive\n\n");
                    await output.FlushAsync(aborted);
                    continue;
                }
                if (!await next) break;
                var change = changes.Current;
                WriteAscii(output, "id: " + change.Sequence + "\ndata: ");
                ChangeEventJson.Write(output, change);
                WriteAscii(output, "\n\n");
                await output.FlushAsync(aborted);
                next = changes.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The feed must have finished its pending step before it is disposed; it ends on the same token.
            try { await next; } catch (Exception) { }
        }
        catch (EngineException e)
        {
            WriteAscii(output, "event: error\ndata: {\"s\":\"error\",\"v\":\"" + ErrorCodes.Wire(ErrorCodes.FromEngine(e.Error)) + "\"}\n\n");
            await output.FlushAsync(CancellationToken.None);
        }
        return ApiReply.Ok();
    }

    public async Task HandleWebSocketAsync(HttpContext context)
    {
        var runtime = engine.Runtime;
        if (runtime?.Realtime is not { } realtime)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Unavailable);
            return;
        }
        var caller = CallerPrincipal.From(context.User);
        if (caller is null && context.Request.Query["access_token"].ToString() is { Length: > 0 } token
            && await realtime.Tokens.ValidateAsync(token) is { } identity
            && Kv4.Services.Tokens.Kv4Claims.ToCaller(identity.Claims) is { } fromToken
            && runtime.AcceptsTokenCaller(fromToken, identity.Claims))
            caller = fromToken;
        if (caller is null)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Unauthorized);
            return;
        }
        var query = context.Request.Query;
        var since = query["since"].ToString();
        if (!WatchRequest.TryCreate(caller, query["l"].ToString(), query["path"].ToString(), since.Length == 0 ? null : since, out var watch, out var error))
        {
            await replies.WriteErrorAsync(context.Response, error);
            return;
        }
        if (caller.Signal is { } scope && !scope.Permits(watch.Layer, Kv4.Services.Api.ApiMethod.Get, watch.PathPrefix))
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Forbidden);
            return;
        }
        // The stream reaches every path below the prefix: a deny rule anywhere there refuses it.
        if (context.Connection.RemoteIpAddress is { } remote
            && runtime.AccessPolicy.IsDeniedInSubtree(caller.Bucket, watch.PathPrefix, remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Forbidden);
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.BadParam);
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        // Pinned before the upgrade completes: whatever the client writes once it is connected is in the stream.
        var feed = realtime.Store.ReadChangesAsync(watch.Filter, watch.AfterSequence, stop.Token);
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        // The client sends nothing but its close: reading is only how that close (or a broken socket) is noticed.
        var reading = Task.Run(async () =>
        {
            var scratch = new byte[256];
            try
            {
                while ((await socket.ReceiveAsync(scratch, CancellationToken.None)).MessageType != WebSocketMessageType.Close) { }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
            {
            }
            finally
            {
                await stop.CancelAsync();
            }
        });

        var buffer = new ArrayBufferWriter<byte>(512);
        var status = WebSocketCloseStatus.NormalClosure;
        var description = "";
        try
        {
            await foreach (var change in feed.WithCancellation(stop.Token))
            {
                buffer.ResetWrittenCount();
                ChangeEventJson.Write(buffer, change);
                await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (WebSocketException)
        {
        }
        catch (EngineException e)
        {
            status = WebSocketCloseStatus.PolicyViolation;
            description = ErrorCodes.Wire(ErrorCodes.FromEngine(e.Error));
            LogFeedRefused(e.Error.ToString(), watch.Layer, watch.PathPrefix);
        }
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, description, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
        }
        if (await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(5))) != reading) socket.Abort();
        await reading;
    }

    private static void WriteAscii(System.IO.Pipelines.PipeWriter output, string text)
    {
        var span = output.GetSpan(text.Length);
        var written = System.Text.Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }

    [LoggerMessage(LogLevel.Information, "watch of {Layer}/{Path} ended by the feed: {Error}")]
    private partial void LogFeedRefused(string error, string layer, string path);
}
