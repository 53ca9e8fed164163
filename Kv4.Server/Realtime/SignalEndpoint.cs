using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using Kv4.Engine.Rules;
using Kv4.Server.Endpoints;
using Kv4.Server.Hosting;
using Kv4.Services;
using Kv4.Services.Access;
using Kv4.Services.Api;
using Kv4.Services.Signal;

namespace Kv4.Server.Realtime;

/// <summary>
/// `GET /ws/v2/{token}` (http-api.md §6): the signal WebSocket, admitted by <see cref="Admission"/> like every door.
/// Everything that can refuse a join is checked before the upgrade and answered as a plain HTTP error envelope:
/// engine not ready (503 unavailable), a bad or expired token or one whose issuing identity no longer stands
/// (401 unauthorized), a denied IP for the token's bucket and channel (403 forbidden),
/// no WebSocket request (400 bad_param), a `_subs` entry that cannot be written (503 unavailable). A token without a channel joins the channel named by `?channel=`
/// (default: the root channel). The member joins before the upgrade is answered; then the socket is handed to the
/// <see cref="SignalHub"/>: one loop reads frames
/// into it, one drains the connection's queue onto the socket, and whichever ends first ends both.
/// </summary>
public sealed partial class SignalEndpoint(EngineLifetime engine, ReplyWriter replies, ILogger<SignalEndpoint> log)
{
    /// <summary>How long a closing connection waits for the client's close frame before the socket is aborted.</summary>
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    public async Task HandleAsync(HttpContext context, string token)
    {
        if (engine.Runtime is not { } runtime)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Unavailable);
            return;
        }
        var ticket = await runtime.Admission.AuthenticateSignalAsync(token, context.RequestAborted);
        if (ticket is null)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.Unauthorized);
            return;
        }
        var channel = ticket.Channel;
        if (channel is null && !AddressRules.TryNormalizePath(context.Request.Query["channel"].ToString(), out channel))
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.BadPath);
            return;
        }
        var remote = context.Connection.RemoteIpAddress;
        if (await runtime.Admission.AdmitSignalAsync(ticket, channel, remote, context.RequestAborted) is { } refused)
        {
            await replies.WriteErrorAsync(context.Response, refused);
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await replies.WriteErrorAsync(context.Response, ErrorCode.BadParam);
            return;
        }

        // Joined (and listed in `_subs`) before the upgrade's answer leaves: once a client's socket is open it is a
        // member, and what it sends or is sent from then on is never lost to a join still in progress.
        var realtime = runtime.Realtime;
        var user = ticket.User;
        SignalConnection connection;
        try
        {
            connection = await realtime.Presence.JoinAsync(ticket.Bucket, channel, user, ticket.Issuer.Actor, cancellationToken: context.RequestAborted);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // No entry, no member: a socket that others could hear of but never find in `_subs` (a cluster node that lost
            // its quorum, a presence partition with no primary for longer than a write waits) is refused; the client
            // retries, or asks `_host` for another node. Nobody was told of a join.
            LogPresenceFailed(e, channel, user);
            await replies.WriteErrorAsync(context.Response, ErrorCode.Unavailable);
            return;
        }
        // The socket belongs to the identity that minted its token: when admission refuses that identity, it closes.
        using var live = runtime.Connections.Open(ticket.Issuer, channel, Reach.Path, remote,
            code => connection.Close(code == ErrorCode.Forbidden ? SignalCloseReason.Denied : SignalCloseReason.CredentialsRevoked));
        try
        {
            // A revocation between the admission above and the registration is caught here.
            if (await live.StillAdmittedAsync(context.RequestAborted))
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                await RunAsync(socket, realtime, connection, context.RequestAborted);
            }
            else
            {
                await replies.WriteErrorAsync(context.Response, live.EndedBy!.Value);
            }
        }
        finally
        {
            await LeaveAsync(realtime, connection); // again if RunAsync did (idempotent); alone if the upgrade failed
        }
    }

    /// <summary>
    /// The presence entry goes first, then the hub tells the others (`peer_removed`), so whoever heard it no longer
    /// finds the leaver in `_subs`. Idempotent.
    /// </summary>
    private async Task LeaveAsync(RealtimeSet realtime, SignalConnection connection)
    {
        try
        {
            await realtime.Presence.RemoveAsync(connection);
        }
        catch (Exception e)
        {
            // Presence is a mirror of the hub; a failed write must not take the connection (or the node) down.
            LogPresenceFailed(e, connection.Channel, connection.User);
        }
        realtime.Hub.Leave(connection);
    }

    private async Task RunAsync(WebSocket socket, RealtimeSet realtime, SignalConnection connection, CancellationToken aborted)
    {
        var hub = realtime.Hub;
        using var idle = new CancellationTokenSource();
        var idleTimeout = TimeSpan.FromSeconds(hub.Options.IdleTimeoutSeconds);
        using var idleRegistration = idle.Token.Register(() => connection.Close(SignalCloseReason.IdleTimeout));
        using var abortRegistration = aborted.Register(() => connection.Close(SignalCloseReason.ClientGone));
        idle.CancelAfter(idleTimeout);

        var sending = SendLoopAsync(socket, connection);
        var receiving = ReceiveLoopAsync(socket, hub, connection, idle, idleTimeout);
        await Task.WhenAny(sending, receiving);
        // Either the client went (receiving ended) or the server decided to end it (sending ended after a close frame).
        connection.Close(SignalCloseReason.ClientGone);
        // Before the close handshake, which may wait seconds for a client that no longer reads.
        await LeaveAsync(realtime, connection);
        var both = Task.WhenAll(sending, receiving);
        if (await Task.WhenAny(both, Task.Delay(CloseHandshakeTimeout)) != both) socket.Abort();
        await both;
    }

    private static async Task SendLoopAsync(WebSocket socket, SignalConnection connection)
    {
        try
        {
            await foreach (var frame in connection.Outgoing.ReadAllAsync(connection.Closing))
                await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, connection.Closing);
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
            connection.Close(SignalCloseReason.ClientGone);
            return;
        }
        try
        {
            var (status, description) = CloseStatusFor(connection.CloseReason ?? SignalCloseReason.ServerStopping);
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, description, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private static async Task ReceiveLoopAsync(WebSocket socket, SignalHub hub, SignalConnection connection, CancellationTokenSource idle, TimeSpan idleTimeout)
    {
        var max = hub.Options.MaxFrameBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(max, 16 * 1024) + 1);
        try
        {
            while (true)
            {
                var length = 0;
                var tooLarge = false;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        // Grows up to max + 1 bytes: one byte past the limit is enough to know a frame is too large.
                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length += result.Count;
                    if (length > max) tooLarge = true;
                } while (!result.EndOfMessage && !tooLarge && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    connection.Close(SignalCloseReason.ClientGone);
                    return;
                }
                if (connection.CloseReason is not null) continue; // closing: drain until the client's close frame
                if (tooLarge)
                {
                    connection.Close(SignalCloseReason.FrameTooLarge);
                    continue;
                }
                idle.CancelAfter(idleTimeout);
                if (result.MessageType == WebSocketMessageType.Binary)
                    hub.RefuseFrame(connection, "bad_json"); // the protocol's frames are JSON text
                else
                    hub.Receive(connection, buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            connection.Close(SignalCloseReason.ClientGone);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Close statuses: 1008 for an oversized frame and for an identity admission no longer accepts (reason
    /// `unauthorized` or `forbidden`), 1013 for a too slow reader, 1001 when the node stops.
    /// </summary>
    internal static (WebSocketCloseStatus Status, string Description) CloseStatusFor(SignalCloseReason reason) => reason switch
    {
        SignalCloseReason.FrameTooLarge => (WebSocketCloseStatus.PolicyViolation, "frame too large"),
        SignalCloseReason.SlowConsumer => ((WebSocketCloseStatus)1013, "send queue full"),
        SignalCloseReason.ServerStopping => (WebSocketCloseStatus.EndpointUnavailable, "server stopping"),
        SignalCloseReason.Replaced => (WebSocketCloseStatus.NormalClosure, "replaced"),
        SignalCloseReason.Kicked => (WebSocketCloseStatus.NormalClosure, "kicked"),
        SignalCloseReason.IdleTimeout => (WebSocketCloseStatus.NormalClosure, "idle timeout"),
        SignalCloseReason.CredentialsRevoked => (WebSocketCloseStatus.PolicyViolation, "unauthorized"),
        SignalCloseReason.Denied => (WebSocketCloseStatus.PolicyViolation, "forbidden"),
        _ => (WebSocketCloseStatus.NormalClosure, ""),
    };

    [LoggerMessage(LogLevel.Warning, "presence update failed for {Channel}/{User}")]
    private partial void LogPresenceFailed(Exception error, string channel, string user);
}
