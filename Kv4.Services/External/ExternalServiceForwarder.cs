using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Kv4.Services.Api;

namespace Kv4.Services.External;

/// <summary>
/// Forwards an authenticated call of `/_&lt;service&gt;/...` to the least loaded live host of that external service.
/// The request goes to `&lt;host url&gt;/_&lt;service&gt;/&lt;path&gt;?&lt;query&gt;` with the same method and body and the caller's
/// identity in <see cref="ForwardingHeaders"/>. A host that cannot be reached, times out, answers 502/503/504 or an
/// oversized body is marked down and the next host is tried, at most <see cref="ExternalServiceOptions.MaxAttempts"/>
/// hosts; none left answers <see cref="ErrorCode.NoServiceHost"/>.
///
/// The host's answer becomes the reply: a Kv4 envelope (`{"s":"ok","v":..}` / `{"s":"error","v":"code"}`) is
/// unwrapped, any other JSON body is the `v` of an ok reply (non-2xx: the error code that status means).
/// One <see cref="HttpClient"/> over one <see cref="SocketsHttpHandler"/> serves every host: connections are pooled
/// per host and recycled every minute so a host that moves to a new address is followed.
/// </summary>
public sealed class ExternalServiceForwarder : IDisposable
{
    private static readonly Dictionary<string, ErrorCode> CodesByWire =
        Enum.GetValues<ErrorCode>().ToDictionary(ErrorCodes.Wire, c => c, StringComparer.Ordinal);

    private readonly ExternalServiceRegistry _registry;
    private readonly ExternalServiceOptions _options;
    private readonly HttpClient _client;

    public ExternalServiceForwarder(ExternalServiceRegistry registry, ExternalServiceOptions options)
    {
        _registry = registry;
        _options = options;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(1, options.TimeoutSeconds)),
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
        };
        _client = new HttpClient(handler)
        {
            Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own deadline
            MaxResponseContentBufferSize = options.MaxResponseBytes,
        };
    }

    public async ValueTask<ApiReply> ForwardAsync(ApiRequest request, string service)
    {
        var attempts = 0;
        foreach (var host in _registry.LiveHosts(service))
        {
            if (attempts++ >= Math.Max(1, _options.MaxAttempts)) break;
            request.CancellationToken.ThrowIfCancellationRequested();
            var reply = await TryHostAsync(request, service, host).ConfigureAwait(false);
            if (reply is { } answered) return answered;
            _registry.MarkDown(service, host.HostId);
        }
        return ErrorCode.NoServiceHost;
    }

    /// <summary>The host's reply, or null when the host failed (unreachable, timed out, overloaded, unreadable).</summary>
    private async ValueTask<ApiReply?> TryHostAsync(ApiRequest request, string service, ServiceHost host)
    {
        using var message = BuildMessage(request, service, host);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(request.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(Math.Max(1, _options.TimeoutSeconds)));
        try
        {
            using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout)
                return null;
            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
            return ToReply((int)response.StatusCode, body);
        }
        catch (OperationCanceledException) when (request.CancellationToken.IsCancellationRequested)
        {
            throw; // the caller left; the host did nothing wrong
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    private static HttpRequestMessage BuildMessage(ApiRequest request, string service, ServiceHost host)
    {
        var target = new StringBuilder(host.Url.GetLeftPart(UriPartial.Path).TrimEnd('/'));
        target.Append("/_").Append(service);
        if (request.Path.Length > 0)
            foreach (var segment in request.Path.Split('/'))
                target.Append('/').Append(Uri.EscapeDataString(segment));
        var separator = '?';
        foreach (var (name, value) in request.Query.Pairs)
        {
            target.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        var message = new HttpRequestMessage(ToHttpMethod(request.Method), new Uri(target.ToString()));
        var caller = request.Caller;
        message.Headers.TryAddWithoutValidation(ForwardingHeaders.Bucket, caller.Bucket);
        message.Headers.TryAddWithoutValidation(ForwardingHeaders.Actor, caller.Actor);
        message.Headers.TryAddWithoutValidation(ForwardingHeaders.CallerKind, caller.Kind.ToString());
        message.Headers.TryAddWithoutValidation(ForwardingHeaders.Roles, string.Join(',', caller.Roles));
        message.Headers.TryAddWithoutValidation(ForwardingHeaders.Service, service);
        if (caller.SessionId is { } session) message.Headers.TryAddWithoutValidation(ForwardingHeaders.Session, session);
        if (host.ProxyToken is { } token) message.Headers.TryAddWithoutValidation(ForwardingHeaders.ProxyToken, token);
        if (request.RemoteAddress is { } remote) message.Headers.TryAddWithoutValidation(ForwardingHeaders.ForwardedFor, remote.ToString());
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (!request.Body.IsEmpty)
        {
            message.Content = new ReadOnlyMemoryContent(request.Body);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        return message;
    }

    private static HttpMethod ToHttpMethod(ApiMethod method) => method switch
    {
        ApiMethod.Get => HttpMethod.Get,
        ApiMethod.Put => HttpMethod.Put,
        ApiMethod.Post => HttpMethod.Post,
        ApiMethod.Delete => HttpMethod.Delete,
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>Turns a host's answer into a reply; an answer that is not JSON counts as a failed host (null).</summary>
    internal static ApiReply? ToReply(int status, byte[] body)
    {
        var success = status is >= 200 and < 300;
        if (body.Length == 0)
            return success ? ApiReply.Ok() : ApiReply.Fail(FromStatus(status));
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("s", out var s) && s.ValueKind == JsonValueKind.String)
            {
                var hasValue = root.TryGetProperty("v", out var v);
                if (s.ValueEquals("ok"))
                    return hasValue ? ApiReply.OkJson(Encoding.UTF8.GetBytes(v.GetRawText())) : ApiReply.Ok();
                if (s.ValueEquals("error"))
                    return ApiReply.Fail(hasValue && v.ValueKind == JsonValueKind.String && CodesByWire.TryGetValue(v.GetString()!, out var code)
                        ? code
                        : FromStatus(success ? 400 : status));
            }
            return success ? ApiReply.OkJson(body) : ApiReply.Fail(FromStatus(status));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ErrorCode FromStatus(int status) => status switch
    {
        401 => ErrorCode.Unauthorized,
        403 => ErrorCode.Forbidden,
        404 => ErrorCode.NotFound,
        405 => ErrorCode.MethodNotAllowed,
        409 => ErrorCode.VersionConflict,
        413 => ErrorCode.ValueTooLarge,
        429 => ErrorCode.RateLimited,
        >= 400 and < 500 => ErrorCode.BadParam,
        _ => ErrorCode.Unavailable,
    };

    public void Dispose() => _client.Dispose();
}
