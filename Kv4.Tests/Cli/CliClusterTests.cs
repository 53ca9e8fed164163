using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Cli;

/// <summary>
/// `kv4 cluster` against a stand-in that answers the `/_cluster` replies in docs/cluster.md's shapes (a real Kestrel
/// on 127.0.0.1 checking the `$sys` login), for states a live cluster does not hold still (a node leaving, a replica
/// behind). The stand-in checks what kv4 sends; the test checks the tables kv4 draws from the replies. The run against
/// three real nodes is in Kv4.Tests/Cluster/ClusterApiTests.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CliClusterTests
{
    private const string Secret = "cluster-test-secret";

    private const string Members = """
        {"s":"ok","v":{"self":"n1","leader":"n2","members":[
        {"name":"n1","endpoint":"127.0.0.1:7101","url":"http://127.0.0.1:4001","state":"up","load":{"sockets":3,"rps":12.5,"primaries":22,"replicas":43}},
        {"name":"n2","endpoint":"127.0.0.1:7102","url":"http://127.0.0.1:4002","state":"up","load":{"sockets":10,"rps":0,"primaries":21,"replicas":42}},
        {"name":"n3","endpoint":"127.0.0.1:7103","url":null,"state":"leaving","load":{"sockets":0,"rps":0,"primaries":21,"replicas":43}}]}}
        """;

    private const string Partitions = """
        {"s":"ok","v":[
        {"partition":0,"epoch":2,"primary":"n1","replicas":["n2","n3"],"in_sync":["n1","n2"],"lag":{"n2":0,"n3":120}},
        {"partition":1,"epoch":1,"primary":"n2","replicas":["n1"],"in_sync":["n2","n1"],"lag":{"n1":0}},
        {"partition":10,"epoch":7,"primary":"n3","replicas":[],"in_sync":["n3"],"lag":{}}]}
        """;

    private const string SingleNode = """
        {"s":"ok","v":{"self":"local","leader":"local","members":[{"name":"local","endpoint":null,"url":null,"state":"up","load":{"sockets":0,"rps":0.25,"primaries":64,"replicas":0}}]}}
        """;

    [Fact]
    public async Task Cluster_status_draws_the_members_and_the_partitions_as_tables()
    {
        await using var standIn = await StandIn.StartAsync(Members, Partitions);
        var sys = Env(standIn.Url, "$sys", Secret);

        var status = (await Kv4Cli.RunAsync(sys, "cluster", "status")).Ok();
        Assert.Equal("""
            this node: n1    leader: n2
            NODE         STATE    ENDPOINT        URL                    SOCKETS   RPS  PRIMARIES  REPLICAS
            n1 *         up       127.0.0.1:7101  http://127.0.0.1:4001        3  12.5         22        43
            n2 (leader)  up       127.0.0.1:7102  http://127.0.0.1:4002       10     0         21        42
            n3           leaving  127.0.0.1:7103  -                            0     0         21        43

            PARTITION  EPOCH  PRIMARY  REPLICAS  IN-SYNC  LAG
                    0      2  n1       n2,n3     n1,n2    n2:0 n3:120
                    1      1  n2       n1        n2,n1    n1:0
                   10      7  n3       -         n3       -

            """.ReplaceLineEndings("\n"), status);
        Assert.Equal(["GET /_cluster", "GET /_cluster/partitions"], standIn.Requests);

        var json = await Kv4Cli.RunAsync(sys, "cluster", "status", "--json");
        Assert.Equal(Members.ReplaceLineEndings("") + "\n" + Partitions.ReplaceLineEndings("") + "\n", json.Ok());

        Assert.Equal("n3: leaving\n", (await Kv4Cli.RunAsync(sys, "cluster", "decommission", "n3")).Ok());
        Assert.Equal("DELETE /_cluster/nodes?k=n3", standIn.Requests[^1]);
        (await Kv4Cli.RunAsync(sys, "cluster", "decommission", "local")).Failed(ExitCodes.Server, "server error: not_clustered");

        (await Kv4Cli.RunAsync(Env(standIn.Url, "elena", "elena-secret"), "cluster", "status")).Failed(ExitCodes.Server, "server error: forbidden");
    }

    [Fact]
    public async Task A_single_node_shows_one_member_and_servers_without_the_cluster_say_so()
    {
        await using (var single = await StandIn.StartAsync(SingleNode, """{"s":"ok","v":[]}"""))
        {
            var status = (await Kv4Cli.RunAsync(Env(single.Url, "$sys", Secret), "cluster", "status")).Ok();
            Assert.StartsWith("this node: local    leader: local\nNODE", status);
            Assert.Matches(@"(?m)^local \* \(leader\) +up +- +- +0 +0\.25 +64 +0$", status);
            Assert.EndsWith("PARTITION  EPOCH  PRIMARY  REPLICAS  IN-SYNC  LAG\n", status);
        }
        await using (var older = await StandIn.StartAsync(null, null))
        {
            var run = await Kv4Cli.RunAsync(Env(older.Url, "$sys", Secret), "cluster", "status");
            run.Failed(ExitCodes.Server, "server error: unknown_service");
            Assert.Contains("hint: this server has no /_cluster service", run.Err);
        }
        await using (var notKv4 = await StandIn.StartAsync("<html>hello</html>", null))
            (await Kv4Cli.RunAsync(Env(notKv4.Url, "$sys", Secret), "cluster", "status")).Failed(ExitCodes.Connection, "HTTP 200 from GET /_cluster is not a Kv4 reply");
    }

    private static Dictionary<string, string> Env(Uri url, string user, string secret) =>
        new() { ["KV4_URL"] = url.ToString(), ["KV4_USER"] = user, ["KV4_SECRET"] = secret };

    /// <summary>Answers GET /_cluster and /_cluster/partitions with the given bodies (null: unknown_service) and DELETE /_cluster/nodes.</summary>
    private sealed class StandIn : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly List<string> _requests = [];

        private StandIn(WebApplication app) => _app = app;

        public Uri Url { get; private set; } = null!;

        public string[] Requests
        {
            get { lock (_requests) return [.. _requests]; }
        }

        public static async Task<StandIn> StartAsync(string? members, string? partitions)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var standIn = new StandIn(app);
            app.Run(async context =>
            {
                var request = context.Request;
                lock (standIn._requests) standIn._requests.Add(request.Method + " " + request.Path + request.QueryString);
                var sys = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("$sys:" + Secret));
                var (status, body) = request.Headers.Authorization.ToString() != sys ? (403, """{"s":"error","v":"forbidden"}""")
                    : (request.Method, request.Path.Value) switch
                    {
                        ("GET", "/_cluster") when members is not null => (200, members.ReplaceLineEndings("")),
                        ("GET", "/_cluster/partitions") when partitions is not null => (200, partitions.ReplaceLineEndings("")),
                        ("DELETE", "/_cluster/nodes") when request.Query["k"] == "n3" => (200, """{"s":"ok","v":{"node":"n3","state":"leaving"}}"""),
                        ("DELETE", "/_cluster/nodes") => (409, """{"s":"error","v":"not_clustered"}"""),
                        _ => (404, """{"s":"error","v":"unknown_service"}"""),
                    };
                context.Response.StatusCode = status;
                context.Response.ContentType = body.StartsWith('<') ? "text/html" : "application/json";
                await context.Response.WriteAsync(body);
            });
            await app.StartAsync();
            standIn.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return standIn;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
