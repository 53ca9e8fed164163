using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Dashboard;
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

    private const string ApiCorsPolicy = "kv4-api";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json sits next to the binary: `dotnet run --project Kv4.Server` runs from the repository root.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"])
            && string.IsNullOrEmpty(builder.Configuration["https_ports"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
            builder.WebHost.UseUrls(DefaultUrl);

        var services = builder.Services;
        services.AddOptions<Kv4Options>().Bind(builder.Configuration.GetSection(Kv4Options.Section))
            .Validate(o => o.CommitIntervalMs > 0 && o.Api.MaxBodyBytes > 0 && o.Api.MaxValueBytes > 0 && o.RateLimit.PermitsPerSecond >= 0
                    && o.Api.MinBodyBytesPerSecond >= 0 && o.Api.BodyGraceSeconds >= 2 && o.Api.HeadersTimeoutSeconds > 0
                    && o.Cors.OriginsAreExact && o.Login.IsValid && o.Log.IsValid && o.Compaction.IsValid,
                "Kv4 options out of range")
            .Validate(o => o.Retention.Problems.Count == 0, "Kv4:Retention has invalid rules (MaxVersions and MaxAgeSeconds at least 1, valid layer names and path prefixes)");
        var kv4 = builder.Configuration.GetSection(Kv4Options.Section).Get<Kv4Options>() ?? new Kv4Options();

        services.AddSingleton<ServerSecrets>();
        services.AddSingleton<IServiceRuntimeFactory, StoreServiceRuntimeFactory>();
        services.AddSingleton<EngineLifetime>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineLifetime>());
        services.AddHostedService<Kv4.Server.Logging.StartupNotice>();
        services.AddHostedService<CompactionLoop>();
        Kv4.Server.Logging.ConsoleLogFormat.Configure(builder);
        services.AddSingleton(_ => HostMetrics.CreateRegistry());
        services.AddSingleton<EngineMetrics>();
        services.AddSingleton<CommitMetrics>();
        services.AddSingleton<CompactionMetrics>();
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton<ReplyWriter>();
        services.AddSingleton<ApiEndpoint>();
        services.AddSingleton<DashboardFiles>();
        services.AddSingleton<DashboardEndpoint>();
        services.AddKv4Authentication();
        Kv4.Server.Realtime.RealtimeEndpoints.AddKv4Realtime(services);
        services.AddBucketRateLimiting(kv4.RateLimit);
        // Browsers on the configured origins may call the template with credentials; every other path, and every
        // other origin, gets no CORS header (without origins the middleware is not there at all).
        if (kv4.Cors.Enabled)
            services.AddCors(o => o.AddPolicy(ApiCorsPolicy, p => p.WithOrigins(kv4.Cors.Origins)
                .WithMethods("GET", "PUT", "POST", "DELETE").WithHeaders("Authorization", "Content-Type").AllowCredentials()
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
        services.AddOpenApi(o => o.AddDocumentTransformer<TemplateDocumentTransformer>());
        services.AddSingleton<TemplateDocumentTransformer>();
        // Kestrel's own body limit stays well above ours: the endpoint answers value_too_large in the envelope and
        // discards the rest of a refused body up to this hard limit, so the client reads the answer.
        // A body slower than the minimum rate, or headers slower than their timeout, are cut off by Kestrel; the
        // endpoint answers the body case in the envelope (request_timeout). Kestrel may take these before the
        // options are validated: clamped, so a bad value fails the start with the validation's message, not Kestrel's.
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k =>
        {
            k.Limits.MaxRequestBodySize = 4L * Math.Max(kv4.Api.MaxBodyBytes, 1024 * 1024);
            k.Limits.MinRequestBodyDataRate = kv4.Api.MinBodyBytesPerSecond > 0
                ? new(kv4.Api.MinBodyBytesPerSecond, TimeSpan.FromSeconds(Math.Max(kv4.Api.BodyGraceSeconds, 2)))
                : null;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Math.Max(kv4.Api.HeadersTimeoutSeconds, 1));
        });

        configure?.Invoke(builder);

        var app = builder.Build();
        // Resolve the secrets now: a bad configured key or an unwritable data directory fails the start, not a request.
        _ = app.Services.GetRequiredService<ServerSecrets>();
        _ = app.Services.GetRequiredService<EngineMetrics>(); // its gauges refresh on every scrape of the host's registry

        // Kestrel removes `..` segments and decodes escapes before routing, so `/_data/../healthz` would reach
        // /healthz and `/x/../_data/b` the template: a raw target of the template, or one that only reaches a route
        // through that normalization, goes to the endpoint, which refuses it as a bad path (ApiTarget decides).
        app.Use((context, next) =>
        {
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
            var pathIsApi = context.Request.Path.Value is { Length: > 1 } path && path[1] == '_';
            if (raw is not null && !pathIsApi && ApiTarget.Classify(raw) != ApiTarget.Outcome.NotApi) context.Request.Path = "/_";
            return next(context);
        });
        app.UseRouting();
        if (kv4.Cors.Enabled) app.UseCors();
        app.UseAuthentication();
        if (kv4.RateLimit.Enabled) app.UseRateLimiter();

        app.MapHealth();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<CollectorRegistry>());
        app.MapOpenApi("/openapi/{documentName}.json");
        Kv4.Server.Realtime.RealtimeEndpoints.MapKv4Realtime(app);
        // The host's own prefix: its literal routes win over the template's `_{service}`, so `_dashboard` never reaches a service.
        var dashboard = app.Services.GetRequiredService<DashboardEndpoint>();
        app.Map(DashboardEndpoint.Prefix, dashboard.HandleAsync).ExcludeFromDescription();
        app.Map(DashboardEndpoint.Prefix + "/{**file}", dashboard.HandleAsync).ExcludeFromDescription();
        var endpoint = app.Services.GetRequiredService<ApiEndpoint>();
        var template = new[]
        {
            app.Map("/_{service}", endpoint.HandleAsync).ExcludeFromDescription(),
            app.Map("/_{service}/{**path}", endpoint.HandleAsync).ExcludeFromDescription(),
        };
        if (kv4.Cors.Enabled) foreach (var route in template) route.RequireCors(ApiCorsPolicy);
        // Targets that only look like something else after Kestrel removed their `..` segments, and any other path.
        app.MapFallback(endpoint.HandleAsync).ExcludeFromDescription();
        return app;
    }
}
