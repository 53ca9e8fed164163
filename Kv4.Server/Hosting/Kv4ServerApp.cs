using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Endpoints;
using Kv4.Server.Metrics;
using Kv4.Server.OpenApi;
using Kv4.Server.RateLimiting;
using Prometheus;

namespace Kv4.Server.Hosting;

/// <summary>
/// Builds the Kv4 web application: configuration, the engine lifetime, authentication, rate limiting, metrics,
/// OpenAPI and the endpoints. Program.cs runs it; the integration tests build it in-process on port 0 with
/// <paramref name="configure"/> to add test services.
/// </summary>
public static class Kv4ServerApp
{
    /// <summary>Where the server listens when neither --urls, ASPNETCORE_URLS/ASPNETCORE_HTTP_PORTS nor Kestrel endpoints are configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:4000";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json sits next to the binary: `dotnet run --project Kv4.Server` runs from the repository root.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"])
            && string.IsNullOrEmpty(builder.Configuration["https_ports"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
            builder.WebHost.UseUrls(DefaultUrl);

        var services = builder.Services;
        services.AddOptions<Kv4Options>().Bind(builder.Configuration.GetSection(Kv4Options.Section))
            .Validate(o => o.CommitIntervalMs > 0 && o.Api.MaxBodyBytes > 0 && o.Api.MaxValueBytes > 0 && o.RateLimit.PermitsPerSecond >= 0,
                "Kv4 options out of range");
        var kv4 = builder.Configuration.GetSection(Kv4Options.Section).Get<Kv4Options>() ?? new Kv4Options();

        services.AddSingleton<ServerSecrets>();
        services.AddSingleton<IServiceRuntimeFactory, StoreServiceRuntimeFactory>();
        services.AddSingleton<EngineLifetime>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineLifetime>());
        services.AddHostedService<Kv4.Server.Logging.StartupNotice>();
        Kv4.Server.Logging.ConsoleLogFormat.Configure(builder);
        services.AddSingleton(_ => HostMetrics.CreateRegistry());
        services.AddSingleton<EngineMetrics>();
        services.AddSingleton<CommitMetrics>();
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton<ReplyWriter>();
        services.AddSingleton<ApiEndpoint>();
        services.AddKv4Authentication();
        Kv4.Server.Realtime.RealtimeEndpoints.AddKv4Realtime(services);
        services.AddBucketRateLimiting(kv4.RateLimit);
        services.AddOpenApi(o => o.AddDocumentTransformer<TemplateDocumentTransformer>());
        services.AddSingleton<TemplateDocumentTransformer>();
        // Kestrel's own body limit stays well above ours: the endpoint answers value_too_large in the envelope and
        // discards the rest of a refused body up to this hard limit, so the client reads the answer.
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k =>
            k.Limits.MaxRequestBodySize = 4L * Math.Max(kv4.Api.MaxBodyBytes, 1024 * 1024));

        configure?.Invoke(builder);

        var app = builder.Build();
        // Resolve the secrets now: a bad configured key or an unwritable data directory fails the start, not a request.
        _ = app.Services.GetRequiredService<ServerSecrets>();
        _ = app.Services.GetRequiredService<EngineMetrics>(); // its gauges refresh on every scrape of the host's registry

        // Kestrel removes `..` segments before routing, so `/_data/../healthz` would reach /healthz: a raw target
        // of the template stays in the template, where the endpoint refuses it as a bad path.
        app.Use((context, next) =>
        {
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
            var rawIsApi = raw is { Length: > 1 } && raw[0] == '/' && raw[1] == '_';
            var pathIsApi = context.Request.Path.Value is { Length: > 1 } path && path[1] == '_';
            if (rawIsApi && !pathIsApi) context.Request.Path = "/_";
            return next(context);
        });
        app.UseRouting();
        app.UseAuthentication();
        if (kv4.RateLimit.Enabled) app.UseRateLimiter();

        app.MapHealth();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<CollectorRegistry>());
        app.MapOpenApi("/openapi/{documentName}.json");
        Kv4.Server.Realtime.RealtimeEndpoints.MapKv4Realtime(app);
        var endpoint = app.Services.GetRequiredService<ApiEndpoint>();
        app.Map("/_{service}", endpoint.HandleAsync).ExcludeFromDescription();
        app.Map("/_{service}/{**path}", endpoint.HandleAsync).ExcludeFromDescription();
        // Targets that only look like something else after Kestrel removed their `..` segments, and any other path.
        app.MapFallback(endpoint.HandleAsync).ExcludeFromDescription();
        return app;
    }
}
