using System.Diagnostics;
using Kv4.Engine.Rules;
using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Kv4.Server.Metrics;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Endpoints;

/// <summary>
/// The one endpoint of the template `METHOD /_&lt;service&gt;/&lt;path&gt;?query`. It only translates: HTTP in,
/// <see cref="ApiRequest"/> to the service, <see cref="ApiReply"/> back out. In order: engine ready
/// (else `unavailable`), method (`method_not_allowed`), service (`unknown_service`), path (`bad_path`),
/// credentials (`unauthorized` unless the service allows the call anonymously), a `_token` bearer's scope and the
/// IP deny list (`forbidden`),
/// bounded body (`value_too_large`), then the service. Nothing is written before the service runs, so every
/// refusal here leaves the store untouched. An unexpected exception is logged and answered `unavailable`.
/// </summary>
public sealed partial class ApiEndpoint(
    EngineLifetime engine,
    ReplyWriter replies,
    ApiMetrics metrics,
    IOptions<Kv4Options> options,
    Kv4.Server.Realtime.WatchEndpoint watch,
    ILogger<ApiEndpoint> log)
{
    private readonly int _maxBodyBytes = options.Value.Api.MaxBodyBytes;

    public async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var methodLabel = MethodLabel(context.Request.Method, out var method);
        var refusal = Route(context, method, out var runtime, out var service, out var path);
        var serviceLabel = service?.Name ?? ApiMetrics.UnknownService;
        try
        {
            var reply = refusal is { } code ? ApiReply.Fail(code) : await CallAsync(context, runtime!, service!, method!.Value, path);
            if (!context.Response.HasStarted) await replies.WriteAsync(context.Response, reply);
            else await reply.DiscardAsync();
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception e)
        {
            LogUnexpected(e, context.Request.Method, serviceLabel, context.TraceIdentifier);
            if (!context.Response.HasStarted)
            {
                context.Response.Headers.Clear();
                await replies.WriteErrorAsync(context.Response, ErrorCode.Unavailable);
            }
            else
            {
                context.Abort();
            }
        }
        finally
        {
            metrics.Observe(serviceLabel, methodLabel, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>The checks that need no I/O: readiness, method, service, path. Null when the call may go on.</summary>
    private ErrorCode? Route(HttpContext context, ApiMethod? method, out ServiceRuntime? runtime, out IApiService? service, out string path)
    {
        service = null;
        path = "";
        runtime = engine.Runtime;
        if (runtime is null) return ErrorCode.Unavailable;
        if (method is null) return ErrorCode.MethodNotAllowed;

        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var outcome = ApiTarget.TryParse(rawTarget, out var serviceName, out path);
        if (outcome == ApiTarget.Outcome.NotApi)
        {
            // An absolute-form target (through a proxy): fall back to the decoded path.
            outcome = ApiTarget.TryParse(context.Request.Path.Value ?? "", out serviceName, out path);
            if (outcome == ApiTarget.Outcome.NotApi) return ErrorCode.UnknownService;
        }
        if (!runtime.Catalog.TryFind(serviceName, out var found)) return ErrorCode.UnknownService;
        service = found;
        return outcome == ApiTarget.Outcome.BadPath ? ErrorCode.BadPath : null;
    }

    private async ValueTask<ApiReply> CallAsync(HttpContext context, ServiceRuntime runtime, IApiService service, ApiMethod method, string path)
    {
        Caller caller;
        if (CallerPrincipal.From(context.User) is { } authenticated)
        {
            caller = authenticated;
        }
        else if (context.Request.Headers.Authorization.Count == 0 && service.AllowsAnonymous(method, path))
        {
            caller = AnonymousCaller.Instance;
        }
        else
        {
            // The scheme that saw the header (Basic or Bearer) writes the `unauthorized` envelope.
            await context.ChallengeAsync();
            return ApiReply.Fail(ErrorCode.Unauthorized);
        }

        // A `_token` bearer stands for an end user, not for its issuer: only its scope's calls, watches included.
        if (caller.Signal is { } scope && !scope.Permits(service.Name, method, path)) return ApiReply.Fail(ErrorCode.Forbidden);

        // `GET ...?watch=1` turns the call into a Server-Sent Events stream of the layer's changes (contract 7). It, and
        // a DELETE without `k`, reach every path below, so a deny rule anywhere in that subtree refuses them (a root
        // watch would otherwise stream a denied path's changes).
        var isWatch = Kv4.Server.Realtime.WatchEndpoint.IsWatch(context.Request);
        var reachesSubtree = isWatch || (method == ApiMethod.Delete && !context.Request.Query.ContainsKey("k"));
        var remote = context.Connection.RemoteIpAddress;
        if (!AnonymousCaller.Is(caller) && remote is not null)
        {
            var address = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
            var denied = reachesSubtree
                ? runtime.AccessPolicy.IsDeniedInSubtree(caller.Bucket, path, address)
                : runtime.AccessPolicy.IsDenied(caller.Bucket, path, address);
            if (denied) return ApiReply.Fail(ErrorCode.Forbidden);
        }

        if (isWatch)
            return AnonymousCaller.Is(caller) ? ApiReply.Fail(ErrorCode.Unauthorized) : await watch.ServeSseAsync(context, caller, service.Name, path);

        using var body = await BoundedBody.ReadAsync(context.Request, _maxBodyBytes, context.RequestAborted);
        if (body is null) return ApiReply.Fail(ErrorCode.ValueTooLarge);

        var request = new ApiRequest(method, service.Name, path, new HttpApiQuery(context.Request.Query), body.Memory, caller,
            remote, context.RequestAborted);
        if (!AnonymousCaller.Is(caller)) runtime.Platform?.Stats.RecordCall(service.Name, method, caller); // api:3
        try
        {
            return await service.HandleAsync(request);
        }
        catch (EngineException e)
        {
            // A service that let an engine refusal through: the engine wrote nothing, so the mapped code is the answer.
            return ApiReply.Fail(ErrorCodes.FromEngine(e.Error));
        }
    }

    private static string MethodLabel(string httpMethod, out ApiMethod? method)
    {
        if (HttpMethods.IsGet(httpMethod)) { method = ApiMethod.Get; return "GET"; }
        if (HttpMethods.IsPut(httpMethod)) { method = ApiMethod.Put; return "PUT"; }
        if (HttpMethods.IsPost(httpMethod)) { method = ApiMethod.Post; return "POST"; }
        if (HttpMethods.IsDelete(httpMethod)) { method = ApiMethod.Delete; return "DELETE"; }
        method = null;
        return "other";
    }

    [LoggerMessage(LogLevel.Error, "unexpected failure answering {Method} on service {Service} (request {RequestId}); answered unavailable")]
    private partial void LogUnexpected(Exception error, string method, string service, string requestId);
}
