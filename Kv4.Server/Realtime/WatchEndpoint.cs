using System.Buffers;
using System.Net.WebSockets;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Server.Authentication;
using Kv4.Server.Endpoints;
using Kv4.Server.Hosting;
using Kv4.Services;
using Kv4.Services.Access;
using Kv4.Services.Api;
using Kv4.Services.Watch;
using Microsoft.AspNetCore.Authentication;

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
/// Both are admitted by <see cref="Admission"/> and stay registered in <see cref="LiveConnections"/> while open: the
/// caller is re-admitted before every change is sent, and when its identity goes (account deleted or deactivated,
/// secret or password changed, session revoked, a deny rule now covering it) the stream ends at once with the
/// refusal: SSE `event: error` + `data: {"s":"error","v":"unauthorized"}` (or `forbidden`), WebSocket close 1008
/// with that code as its reason.
/// </summary>
public sealed partial class WatchEndpoint(EngineLifetime engine, ReplyWriter replies, IHostApplicationLifetime lifetime, ILogger<WatchEndpoint> log)
{
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(15);

    /// <summary>True for requests the API endpoint must hand to <see cref="ServeSseAsync"/>.</summary>
    public static bool IsWatch(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Query.TryGetValue("watch", out var v) && v.ToString() is "1" or "true" or "yes";

    /// <summary>The SSE form, for a caller the API endpoint has admitted with <see cref="Reach.Watch"/>.</summary>
    public async ValueTask<ApiReply> ServeSseAsync(HttpContext context, Kv4Runtime runtime, Caller caller, ServiceDeclaration service, string path)
    {
        var since = context.Request.Query["since"].ToString();
        if (since.Length == 0) since = context.Request.Headers["Last-Event-ID"].ToString();
        if (!WatchRequest.TryCreate(caller, service.Layer!, path, since.Length == 0 ? null : since, out var watch, out var error))
            return ApiReply.Fail(error);

        // Ends when the client goes, the node stops (Kestrel waits for open requests when it stops) or admission ends it.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var aborted = linked.Token;
        // The feed's starting point is pinned here, before the client sees the headers: whatever it writes once it
        // has them is in the stream.
        var view = runtime.Storage.Bucket(watch.Bucket);
        var cursor = watch.After ?? await view.CurrentCursorAsync(aborted);
        IAsyncEnumerable<ChangeEvent> feed;
        try
        {
            feed = view.ReadChangesAsync(watch.Layer, watch.PathPrefix, cursor, aborted);
        }
        catch (EngineException e)
        {
            return ApiReply.Fail(ErrorCodes.FromEngine(e.Error));
        }
        using var live = runtime.Connections.Open(caller, watch.PathPrefix, Reach.Watch, context.Connection.RemoteIpAddress, _ => CancelQuietly(linked));

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
            while (await live.StillAdmittedAsync(aborted))
            {
                var keepAlive = Task.Delay(KeepAliveEvery, aborted);
                if (await Task.WhenAny(next, keepAlive) != next)
                {
                    WriteAscii(output, ": keep-alive\n\n");
                    await output.FlushAsync(aborted);
                    continue;
                }
                if (!await next || !await live.StillAdmittedAsync(aborted)) break;
                var change = changes.Current;
                var position = cursor.ToString();
                WriteAscii(output, "id: " + position + "\ndata: ");
                ChangeEventJson.Write(output, change, position);
                WriteAscii(output, "\n\n");
                await output.FlushAsync(aborted);
                next = changes.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
        }
        catch (EngineException e)
        {
            await WriteErrorEventAsync(output, ErrorCodes.FromEngine(e.Error), (e as FeedTruncatedException)?.ResumeFrom.ToString());
        }
        finally
        {
            // The feed must have finished its pending step before it is disposed; it ends on the same token.
            await CancelQuietlyAsync(linked);
            try { await next; } catch (Exception) { }
        }
        if (live.EndedBy is { } refused && !context.RequestAborted.IsCancellationRequested)
        {
            LogEnded(ErrorCodes.Wire(refused), watch.Layer, watch.PathPrefix);
            await WriteErrorEventAsync(output, refused);
        }
        return ApiReply.Ok();
    }

    public async Task HandleWebSocketAsync(HttpContext context)
    {
        if (engine.Runtime is not { } runtime)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Unavailable);
            return;
        }
        var query = context.Request.Query;
        if (!runtime.Catalog.TryFindByLayer(query["l"].ToString(), out var service))
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.BadParam);
            return;
        }
        if (!AddressRules.TryNormalizePath(query["path"].ToString(), out var path))
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.BadPath);
            return;
        }
        var remote = context.Connection.RemoteIpAddress;
        var (denied, caller) = await runtime.Admission.AdmitAsync(CallerPrincipal.From(context.User), HttpCredential.IsPresented(context.Request),
            service.Declaration, ApiMethod.Get, path, Reach.Watch, remote, context.RequestAborted);
        if (denied is { } refusal)
        {
            // The scheme answers `unauthorized` (or `rate_limited` for a throttled login) as on every other door.
            if (refusal == ErrorCode.Unauthorized) await context.ChallengeAsync();
            else await replies.WriteErrorAsync(context.Response, refusal);
            return;
        }
        var since = query["since"].ToString();
        if (!WatchRequest.TryCreate(caller, service.Declaration.Layer!, path, since.Length == 0 ? null : since, out var watch, out var error))
        {
            await replies.WriteErrorAsync(context.Response, error);
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.BadParam);
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        // Pinned before the upgrade completes: whatever the client writes once it is connected is in the stream.
        var view = runtime.Storage.Bucket(watch.Bucket);
        var cursor = watch.After ?? await view.CurrentCursorAsync(stop.Token);
        IAsyncEnumerable<ChangeEvent> feed;
        try
        {
            feed = view.ReadChangesAsync(watch.Layer, watch.PathPrefix, cursor, stop.Token);
        }
        catch (EngineException e)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCodes.FromEngine(e.Error));
            return;
        }
        using var live = runtime.Connections.Open(caller, watch.PathPrefix, Reach.Watch, remote, _ => CancelQuietly(stop));
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
                await CancelQuietlyAsync(stop);
            }
        });

        var buffer = new ArrayBufferWriter<byte>(512);
        var status = WebSocketCloseStatus.NormalClosure;
        var description = "";
        try
        {
            await foreach (var change in feed.WithCancellation(stop.Token))
            {
                if (!await live.StillAdmittedAsync(stop.Token)) break;
                buffer.ResetWrittenCount();
                ChangeEventJson.Write(buffer, change, cursor.ToString());
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
            // A close reason holds at most 123 bytes: the cursor to resume from goes in when it fits.
            if (e is FeedTruncatedException { ResumeFrom: var resume } && description.Length + 7 + resume.ToString().Length <= 123)
                description += " since=" + resume;
            LogEnded(e.Error.ToString(), watch.Layer, watch.PathPrefix);
        }
        if (live.EndedBy is { } refused)
        {
            status = WebSocketCloseStatus.PolicyViolation;
            description = ErrorCodes.Wire(refused);
            LogEnded(description, watch.Layer, watch.PathPrefix);
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

    /// <param name="since">A feed_truncated watch: the cursor it can resume from (base64url, so it needs no escaping).</param>
    private static async ValueTask WriteErrorEventAsync(System.IO.Pipelines.PipeWriter output, ErrorCode code, string? since = null)
    {
        WriteAscii(output, "event: error\ndata: {\"s\":\"error\",\"v\":\"" + ErrorCodes.Wire(code) + "\""
            + (since is null ? "" : ",\"since\":\"" + since + "\"") + "}\n\n");
        try
        {
            await output.FlushAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or OperationCanceledException)
        {
            // The client went while the stream was ending: nobody to tell.
        }
    }

    /// <summary>Admission ends a stream from whatever thread refused it: the flag is set there, the stream's own code runs on its own.</summary>
    private static void CancelQuietly(CancellationTokenSource source)
    {
        try { _ = source.CancelAsync(); }
        catch (ObjectDisposedException) { }
    }

    private static async ValueTask CancelQuietlyAsync(CancellationTokenSource source)
    {
        try { await source.CancelAsync(); }
        catch (ObjectDisposedException) { }
    }

    private static void WriteAscii(System.IO.Pipelines.PipeWriter output, string text)
    {
        var span = output.GetSpan(text.Length);
        var written = System.Text.Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }

    [LoggerMessage(LogLevel.Information, "watch of {Layer}/{Path} ended: {Error}")]
    private partial void LogEnded(string error, string layer, string path);
}
