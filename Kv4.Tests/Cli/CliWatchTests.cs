using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Cli;

/// <summary>
/// `kv4 watch` against real server processes: each change under the path is printed once as it happens; a refusal
/// ends it with exit code 3; and when the server is killed and started again on the same data directory and port,
/// the watch reconnects from its cursor and goes on with nothing missed and nothing printed twice.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CliWatchTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    [Fact]
    public async Task Watch_prints_each_change_under_the_path_and_ends_when_its_login_goes()
    {
        var server = fixture.Server;
        var (name, secret, env) = await fixture.AccountAsync();
        using var http = server.Client(name, secret);
        await using (var watch = Kv4Cli.Launch(env, "watch", "notes"))
        {
            await watch.WaitForErrAsync($"kv4: watching data/notes on {server.Url}");
            (await http.PutReplyAsync("/_data/notes", """{"k":"a","v":{"n":1}}""")).IsOk();
            (await http.PutReplyAsync("/_data/elsewhere", """{"k":"z","v":0}""")).IsOk();
            (await http.PutReplyAsync("/_data/notes/deep", """{"k":"b","v":"two"}""")).IsOk();
            (await http.DeleteReplyAsync("/_data/notes?k=a")).IsOk();
            Assert.Matches($@"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z put notes a {{""n"":1}} by {name}$", await watch.ReadLineAsync());
            Assert.Matches($@"Z put notes/deep b ""two"" by {name}$", await watch.ReadLineAsync());
            Assert.Matches($@"Z delete notes a by {name}$", await watch.ReadLineAsync());
        }

        // --since 0 replays what is retained, as the server sent it with --json; deleting the account ends it.
        await using (var replay = Kv4Cli.Launch(env, "watch", "notes", "--since", "0", "--json"))
        {
            var changes = new List<JsonElement>();
            for (var i = 0; i < 3; i++) changes.Add(JsonDocument.Parse(await replay.ReadLineAsync()).RootElement);
            Assert.Equal(["put a", "put b", "delete a"], changes.Select(c => c.GetProperty("op").GetString() + " " + c.GetProperty("k").GetString()));
            Assert.All(changes, c => Assert.False(string.IsNullOrEmpty(c.GetProperty("seq").GetString())));
            using var sys = server.Client("$sys", server.SysSecret);
            (await sys.DeleteReplyAsync("/_acc/accounts?k=" + name)).IsOk();
            Assert.Equal(ExitCodes.Server, await replay.WaitForExitAsync());
            Assert.Contains("kv4: server error: unauthorized", replay.Err);
        }

        var (_, _, other) = await fixture.AccountAsync();
        (await Kv4Cli.RunAsync(other, "watch", "notes", "--since", "not-a-cursor")).Failed(ExitCodes.Server, "server error: bad_param");
        (await Kv4Cli.RunAsync(new Dictionary<string, string>(other) { ["KV4_SECRET"] = "wrong" }, "watch", "notes")).Failed(ExitCodes.Server, "server error: unauthorized");
        (await Kv4Cli.RunAsync(other, "--layer", "acc", "watch", "x")).Failed(ExitCodes.Server, "server error: bad_param");
    }

    [Fact]
    public async Task A_watch_goes_on_across_server_restarts_and_misses_or_repeats_nothing()
    {
        await using var server = await CliServer.StartAsync(restartable: true);
        var secret = await server.CreateAccountAsync("walt");
        var env = server.Login("walt", secret);
        await using var watch = Kv4Cli.Launch(env, "watch", "feed", "--json");
        await watch.WaitForErrAsync("kv4: watching data/feed");

        var seen = new List<int>();
        var written = 0;
        for (var round = 0; round < 3; round++)
        {
            // Written right after the server is back: before the watch has reconnected, as a rule (it waits up to 5 s between tries).
            using (var http = server.Client("walt", secret))
                for (var i = 0; i < 5; i++)
                    (await http.PutReplyAsync("/_data/feed", $$"""{"k":"k{{written % 2}}","v":{{++written}}}""")).IsOk();
            while (seen.Count < written)
            {
                using var change = JsonDocument.Parse(await watch.ReadLineAsync());
                seen.Add(change.RootElement.GetProperty("v").GetInt32());
            }
            Assert.Equal(Enumerable.Range(1, written), seen);
            if (round < 2) await server.RestartAsync();
        }
        // Its stderr is read on its own: wait for the lines rather than look once.
        await watch.WaitForErrAsync("kv4: connection lost");
        await watch.WaitForErrAsync("kv4: connected again, resuming after ");

        // Nothing more than what was written comes: the next change is the next line.
        using (var http = server.Client("walt", secret))
            (await http.PutReplyAsync("/_data/feed", """{"k":"last","v":16}""")).IsOk();
        using var last = JsonDocument.Parse(await watch.ReadLineAsync());
        Assert.Equal(16, last.RootElement.GetProperty("v").GetInt32());
        Assert.False(watch.HasExited);
    }
}
