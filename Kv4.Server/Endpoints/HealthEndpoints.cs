using Kv4.Server.Hosting;

namespace Kv4.Server.Endpoints;

/// <summary>
/// `/healthz`: the process answers. `/readyz`: the engine has opened and recovered, so the API will answer.
/// Both reply in the envelope; readiness uses a real 503 whatever ErrorsAsOk says, because probes read the status.
/// </summary>
public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", (HttpContext context) => Write(context.Response, 200, "{\"s\":\"ok\",\"v\":\"alive\"}"u8))
            .ExcludeFromDescription();
        endpoints.MapGet("/readyz", (HttpContext context, EngineLifetime engine) => engine.Runtime is { } runtime && runtime.Serving()
                ? Write(context.Response, 200, "{\"s\":\"ok\",\"v\":\"ready\"}"u8)
                : Write(context.Response, 503, "{\"s\":\"error\",\"v\":\"unavailable\"}"u8))
            .ExcludeFromDescription();
    }

    private static Task Write(HttpResponse response, int status, ReadOnlySpan<byte> body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        return response.Body.WriteAsync(body.ToArray()).AsTask();
    }
}
