using Kv4.Server.Endpoints;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Http.Features;

namespace Kv4.Server.Dashboard;

/// <summary>
/// `GET /_dashboard/&lt;file&gt;`: the dashboard's static files (<see cref="DashboardFiles"/>), on every node, without
/// credentials (the page holds no data; it logs in through `_sess` and calls the API like any client).
/// `/_dashboard` is the host's own prefix, mapped before the template, so it is never taken for a service or a
/// layer: a registered external service named `dashboard` does not take it over, as a built-in service keeps its prefix.
/// The raw target goes through <see cref="ApiTarget"/> like the template's: a target that reaches here only once
/// Kestrel removed dot segments (`/x/../_dashboard/`), or whose file path has one, is `bad_path`.
/// Files are revalidated on every load (`no-cache` with a strong ETag, answered 304 when unchanged), so a node
/// upgraded under an open browser never mixes old and new modules, and an unchanged file costs a round trip only.
/// </summary>
public sealed class DashboardEndpoint(DashboardFiles files, ReplyWriter replies)
{
    public const string Prefix = "/_dashboard";

    /// <summary>Whether a (routed) path is the dashboard's: `/_dashboard` or below it.</summary>
    public static bool Owns(PathString path) => path.StartsWithSegments(Prefix, StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        DashboardHeaders.Apply(response);
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await FailAsync(response, ErrorCode.MethodNotAllowed);
            return;
        }
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "";
        var outcome = ApiTarget.TryParse(rawTarget, out var service, out var path);
        if (outcome is ApiTarget.Outcome.BadPath or ApiTarget.Outcome.Disguised)
        {
            await FailAsync(response, ErrorCode.BadPath);
            return;
        }
        if (outcome != ApiTarget.Outcome.Ok || service != Prefix[2..])
        {
            await FailAsync(response, ErrorCode.NotFound);
            return;
        }
        if (request.Path.Value == Prefix)
        {
            // The page's URLs are relative (so it also works under a proxy's path prefix): its root ends with `/`.
            response.StatusCode = StatusCodes.Status308PermanentRedirect;
            response.Headers.Location = Prefix[1..] + "/";
            response.Headers.CacheControl = "no-store";
            return;
        }
        if (files.Find(path) is not { } file)
        {
            await FailAsync(response, ErrorCode.NotFound);
            return;
        }

        response.Headers.CacheControl = "no-cache";
        response.Headers.ETag = file.ETag;
        if (Matches(request.Headers.IfNoneMatch, file.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        if (HttpMethods.IsHead(request.Method)) return;
        await response.Body.WriteAsync(file.Content, context.RequestAborted);
    }

    /// <summary>If-None-Match compares weakly (RFC 9110 §13.1.2): `W/"x"` and `"x"` match, and `*` matches any file.</summary>
    private static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag)
    {
        foreach (var value in ifNoneMatch)
        {
            if (value is null) continue;
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var tag = part.StartsWith("W/", StringComparison.Ordinal) ? part[2..] : part;
                if (tag == "*" || tag == etag) return true;
            }
        }
        return false;
    }

    private ValueTask FailAsync(HttpResponse response, ErrorCode code)
    {
        response.Headers.CacheControl = "no-store";
        return replies.WriteErrorAsync(response, code);
    }
}
