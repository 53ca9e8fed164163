using System.Threading.RateLimiting;
using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Endpoints;
using Kv4.Services.Api;

namespace Kv4.Server.RateLimiting;

/// <summary>
/// A token bucket per caller bucket (`elena` and `elena#lily` are limited separately), over API requests only.
/// Requests without a valid login share a bucket per client address. Off unless Kv4:RateLimit:PermitsPerSecond
/// is set; a rejected request gets the `rate_limited` envelope (429).
/// </summary>
public static class BucketRateLimiting
{
    public static IServiceCollection AddBucketRateLimiting(this IServiceCollection services, RateLimitOptions limits)
    {
        if (!limits.Enabled) return services;
        var tokenLimit = limits.Burst > 0 ? limits.Burst : limits.PermitsPerSecond;
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (!IsApiRequest(context.Request)) return RateLimitPartition.GetNoLimiter("");
                var key = CallerPrincipal.From(context.User)?.Bucket ?? "ip:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = tokenLimit,
                    TokensPerPeriod = limits.PermitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            o.OnRejected = async (rejected, _) =>
                await rejected.HttpContext.RequestServices.GetRequiredService<ReplyWriter>()
                    .WriteErrorAsync(rejected.HttpContext.Response, ErrorCode.RateLimited);
        });
        return services;
    }

    // The dashboard's files are not API calls: a page load fetches a dozen of them, which would otherwise spend the
    // anonymous per-address bucket before the page's first call. Its calls to the API are limited like any other.
    private static bool IsApiRequest(HttpRequest request) =>
        request.Path.Value is { Length: > 2 } path && path[1] == '_' && !Kv4.Server.Dashboard.DashboardEndpoint.Owns(request.Path);
}
