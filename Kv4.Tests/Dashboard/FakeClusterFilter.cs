using System.Text.Json;
using Kv4.Tests.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Dashboard;

/// <summary>
/// Answers `GET /_cluster` and `GET /_cluster/partitions` ahead of the server's own routes, with the reply shapes the
/// cluster service is fixed to (docs/dashboard.md, "Cluster"): four nodes, n4 down, 64 partitions on n1..n3, two of
/// them with a replica behind. It stands in for the cluster service so the dashboard's cluster page is tested
/// against those shapes on any build, with or without the real service; only `$sys` gets them, as from the real one.
/// </summary>
internal sealed class FakeClusterFilter : IStartupFilter
{
    public static readonly int[] BehindPartitions = [5, 9];

    public static void AddTo(WebApplicationBuilder builder) => builder.Services.AddTransient<IStartupFilter, FakeClusterFilter>();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var path = context.Request.Path.Value;
            if (path is not ("/_cluster" or "/_cluster/partitions"))
            {
                await nextMiddleware(context);
                return;
            }
            var isSys = context.Request.Headers.Authorization.ToString() == Kv4.Server.Authentication.BasicCredential.Header("$sys", Kv4TestServer.SysSecret);
            context.Response.ContentType = "application/json";
            context.Response.StatusCode = isSys ? 200 : 403;
            await context.Response.WriteAsync(!isSys ? """{"s":"error","v":"forbidden"}"""
                : path == "/_cluster" ? JsonSerializer.Serialize(new { s = "ok", v = Cluster() })
                : JsonSerializer.Serialize(new { s = "ok", v = Partitions() }));
        });
        next(app);
    };

    private static object Cluster() => new
    {
        self = "n1",
        leader = "n1",
        members = new object[]
        {
            Member("n1", "127.0.0.1:7101", "http://127.0.0.1:4001", "up", 12, 40.5, 22, 42),
            Member("n2", "127.0.0.1:7102", "http://127.0.0.1:4002", "up", 7, 18.0, 21, 43),
            Member("n3", "127.0.0.1:7103", "http://127.0.0.1:4003", "up", 3, 6.25, 21, 43),
            Member("n4", "127.0.0.1:7104", null, "down", 0, 0, 0, 0),
        },
    };

    private static object Member(string name, string endpoint, string? url, string state, int sockets, double rps, int primaries, int replicas) =>
        new { name, endpoint, url, state, load = new { sockets, rps, primaries, replicas } };

    private static object[] Partitions() => Enumerable.Range(0, 64).Select(p =>
    {
        string[] nodes = ["n1", "n2", "n3"];
        var primary = nodes[p % 3];
        var replicas = nodes.Where(n => n != primary).ToArray();
        var behind = BehindPartitions.Contains(p);
        return (object)new
        {
            partition = p,
            epoch = 2,
            primary,
            replicas,
            in_sync = behind ? [primary, replicas[0]] : nodes,
            lag = replicas.ToDictionary(r => r, r => behind && r == replicas[1] ? 120 : 0),
        };
    }).ToArray();
}
