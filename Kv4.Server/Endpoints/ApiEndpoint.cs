using System.Diagnostics;
using Kv4.Engine.Rules;
using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Kv4.Server.Metrics;
using Kv4.Services;
using Kv4.Services.Access;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Endpoints;

/// <summary>
/// The one endpoint of the template `METHOD /_&lt;service&gt;/&lt;path&gt;?query`. It only translates: HTTP in,
/// <see cref="ApiRequest"/> to the service, <see cref="ApiReply"/> back out. In order: engine ready
/// (else `unavailable`), method (`method_not_allowed`), service (`unknown_service`), path (`bad_path`), then
/// <see cref="Admission"/>: credentials (`unauthorized` unless the service declares the call anonymous), a `_token`
/// bearer's scope and the IP deny list (`forbidden`),
/// bounded body (`value_too_large`; a body Kestrel cannot read is `bad_param`, too slow `request_timeout`), then the
/// service. Nothing is written before the service runs, so every refusal here leaves the store untouched. An
/// unexpected exception is logged and answered `unavailable`.
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
        catch (BadHttpRequestException e)
        {
            // Kestrel could not read the body (bad chunked framing, too slow, over its hard limit): the client's error,
            // answered in the envelope where the connection still allows it. The message says why; a stack would not.
            var code = ErrorCodes.FromClientStatus(e.StatusCode);
            LogClientError(e.StatusCode, context.Request.Method, serviceLabel, context.TraceIdentifier, e.Message, ErrorCodes.Wire(code));
            if (!context.Response.HasStarted) await replies.WriteErrorAsync(context.Response, code);
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
    private ErrorCode? Route(HttpContext context, ApiMethod? method, out Kv4Runtime? runtime, out IApiService? service, out string path)
    {
        service = null;
        path = "";
        runtime = engine.Runtime;
        if (runtime is null) return ErrorCode.Unavailable;
        if (method is null) return ErrorCode.MethodNotAllowed;

        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var outcome = ApiTarget.TryParse(rawTarget, out var serviceName, out path);
        if (outcome == ApiTarget.Outcome.Disguised) return ErrorCode.BadPath;
        if (outcome == ApiTarget.Outcome.NotApi) return ErrorCode.UnknownService;
        if (!runtime.Catalog.TryFind(serviceName, out var found)) return ErrorCode.UnknownService;
        service = found;
        return outcome == ApiTarget.Outcome.BadPath ? ErrorCode.BadPath : null;
    }

    private async ValueTask<ApiReply> CallAsync(HttpContext context, Kv4Runtime runtime, IApiService service, ApiMethod method, string path)
    {
        // `GET ...?watch=1` turns the call into a Server-Sent Events stream of the layer's changes (http-api.md §7 Watch). It, and
        // a DELETE without `k`, reach every path below, so admission asks the deny list for the whole subtree.
        var isWatch = Kv4.Server.Realtime.WatchEndpoint.IsWatch(context.Request);
        var reach = isWatch ? Reach.Watch
            : method == ApiMethod.Delete && !context.Request.Query.ContainsKey("k") ? Reach.Subtree
            : Reach.Path;
        var remote = context.Connection.RemoteIpAddress;
        var (refusal, caller) = await runtime.Admission.AdmitAsync(CallerPrincipal.From(context.User), HttpCredential.IsPresented(context.Request),
            service.Declaration, method, path, reach, remote, context.RequestAborted);
        if (refusal == ErrorCode.Unauthorized)
        {
            // The scheme writes the `unauthorized` envelope with its WWW-Authenticate.
            await context.ChallengeAsync();
            return ApiReply.Fail(ErrorCode.Unauthorized);
        }
        if (refusal is { } code) return ApiReply.Fail(code);

        if (isWatch) return await watch.ServeSseAsync(context, runtime, caller, service.Declaration, path);

        using var body = await BoundedBody.ReadAsync(context.Request, _maxBodyBytes, context.RequestAborted);
        if (body is null) return ApiReply.Fail(ErrorCode.ValueTooLarge);

        var request = new ApiRequest(method, service.Name, path, new HttpApiQuery(context.Request.Query), body.Memory, caller,
            runtime.Storage.Bucket(caller.Bucket), remote, context.RequestAborted);
        if (!AnonymousCaller.Is(caller)) runtime.Calls.RecordCall(service.Name, method, caller); // api:3
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

    [LoggerMessage(LogLevel.Information, "client error {Status} reading {Method} on service {Service} (request {RequestId}): {Reason}; answered {Code}")]
    private partial void LogClientError(int status, string method, string service, string requestId, string reason, string code);

    [LoggerMessage(LogLevel.Error, "unexpected failure answering {Method} on service {Service} (request {RequestId}); answered unavailable")]
    private partial void LogUnexpected(Exception error, string method, string service, string requestId);
}
