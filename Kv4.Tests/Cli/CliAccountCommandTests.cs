using System.Text.RegularExpressions;

namespace Kv4.Tests.Cli;

/// <summary>`kv4 acc` against a real server: accounts as `$sys`, sub-accounts and admins as the account, and the logins they make.</summary>
[Trait("Category", "Integration")]
public sealed class CliAccountCommandTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    private CliServer Server => fixture.Server;

    [Fact]
    public async Task Acc_creates_reads_merges_disables_and_deletes_accounts_sub_accounts_and_admins()
    {
        var sys = Server.Login("$sys", Server.SysSecret);
        var name = "a" + Guid.NewGuid().ToString("N")[..12];
        var created = Fields((await Kv4Cli.RunAsync(sys, "acc", "create", name, "--email", $"{name}@Example.com", "--fields", """{"name":"Ann","plan":"free"}""")).Ok());
        Assert.Equal(name, created["username"]);
        Assert.Equal("Ann", created["name"]);
        Assert.Equal("true", created["active"]);
        Assert.Matches("^[0-9a-f]{32}$", created["secret"]);
        var account = Server.Login(name, created["secret"]);

        Assert.Contains(name, (await Kv4Cli.RunAsync(sys, "acc", "ls")).Ok().Split('\n'));
        var read = Fields((await Kv4Cli.RunAsync(sys, "acc", "get", name)).Ok());
        Assert.False(read.ContainsKey("secret"));
        Assert.Equal(name, Fields((await Kv4Cli.RunAsync(sys, "acc", "get", "--email", $"{name}@example.com")).Ok())["username"]);
        Assert.Equal("pro", Fields((await Kv4Cli.RunAsync(sys, "acc", "update", name, """{"plan":"pro"}""")).Ok())["plan"]);
        (await Kv4Cli.RunAsync(sys, "acc", "update", name, """{"email":"new@example.com"}""")).Failed(ExitCodes.Server, "server error: email_is_immutable");
        // A stored text reaches the terminal with its control characters escaped, never as terminal commands.
        Assert.Equal("""Ann\u001b[2J""", Fields((await Kv4Cli.RunAsync(sys, "acc", "update", name, """{"name":"Ann\u001b[2J"}""")).Ok())["name"]);
        (await Kv4Cli.RunAsync(sys, "acc", "create", name, "--email", "other@example.com")).Failed(ExitCodes.Server, "server error: exists");

        // The account manages its sub-accounts; a sub-account logs in as ACCOUNT#SUB.
        var lilySecret = Fields((await Kv4Cli.RunAsync(account, "acc", "create", "lily", "--email", "lily@example.com")).Ok())["secret"];
        Assert.Equal("lily\n", (await Kv4Cli.RunAsync(account, "acc", "ls")).Ok());
        var lily = Server.Login(name + "#lily", lilySecret);
        (await Kv4Cli.RunAsync(lily, "put", "mine", "x", "1")).Ok();
        (await Kv4Cli.RunAsync(lily, "acc", "ls")).Failed(ExitCodes.Server, "server error: forbidden");

        var newSecret = Fields((await Kv4Cli.RunAsync(account, "acc", "secret", "lily")).Ok())["secret"];
        Assert.NotEqual(lilySecret, newSecret);
        (await Kv4Cli.RunAsync(lily, "ls", "mine")).Failed(ExitCodes.Server, "server error: unauthorized");
        lily = Server.Login(name + "#lily", newSecret);
        Assert.Equal("false", Fields((await Kv4Cli.RunAsync(account, "acc", "disable", "lily")).Ok())["active"]);
        (await Kv4Cli.RunAsync(lily, "ls", "mine")).Failed(ExitCodes.Server, "server error: unauthorized");
        Assert.Equal("true", Fields((await Kv4Cli.RunAsync(account, "acc", "enable", "lily")).Ok())["active"]);
        Assert.Equal("x\n", (await Kv4Cli.RunAsync(lily, "ls", "mine")).Ok());

        // Admins: ACCOUNT:ADMIN with ADMIN#PASSWORD as the secret, recorded as that actor.
        Assert.Equal("boss", Fields((await Kv4Cli.RunAsync(account, "acc", "admin", "put", "boss", "--password", "hunter22")).Ok())["username"]);
        Assert.Equal("boss\n", (await Kv4Cli.RunAsync(account, "acc", "admin", "ls")).Ok());
        var boss = Server.Login(name, "boss#hunter22");
        Assert.Equal("boss", Fields((await Kv4Cli.RunAsync(boss, "acc", "admin", "get", "boss")).Ok())["username"]);
        (await Kv4Cli.RunAsync(boss, "put", "board", "memo", "\"by the admin\"")).Ok();
        Assert.Contains($" {name}:boss  \"by the admin\"", (await Kv4Cli.RunAsync(account, "history", "board", "memo")).Ok());
        Assert.Equal("deleted boss\n", (await Kv4Cli.RunAsync(account, "acc", "admin", "del", "boss")).Ok());
        (await Kv4Cli.RunAsync(boss, "ls", "board")).Failed(ExitCodes.Server, "server error: unauthorized");
        (await Kv4Cli.RunWithStdinAsync(account, "s3cret pass\n", "acc", "admin", "put", "ops", "--password", "-")).Ok();
        Assert.Equal("board\n", (await Kv4Cli.RunAsync(Server.Login(name, "ops#s3cret pass"), "paths")).Ok());

        Assert.Equal("deleted lily\n", (await Kv4Cli.RunAsync(account, "acc", "del", "lily")).Ok());
        Assert.Equal("no such name: lily\n", (await Kv4Cli.RunAsync(account, "acc", "del", "lily")).Ok());
        Assert.Equal("deleted " + name + "\n", (await Kv4Cli.RunAsync(sys, "acc", "del", name)).Ok());
        (await Kv4Cli.RunAsync(account, "ls")).Failed(ExitCodes.Server, "server error: unauthorized");
    }

    [Fact]
    public async Task Stats_show_the_login_s_api_calls_and_its_own_measurements()
    {
        var (_, _, env) = await fixture.AccountAsync();
        (await Kv4Cli.RunAsync(env, "put", "s", "a", "1")).Ok();
        (await Kv4Cli.RunAsync(env, "put", "s", "b", "2")).Ok();
        (await Kv4Cli.RunAsync(env, "stats", "add", "rooms/lobby", "-m", "bytes", "1500")).Ok();
        (await Kv4Cli.RunAsync(env, "stats", "add", "rooms/lobby", "-m", "bytes", "500")).Ok();

        // The server writes its counts every second here (Kv4:Stats:FlushSeconds): read until all of them are in (a
        // flush can fall between the two calls of a kind, and then shows the first alone).
        var calls = await EventuallyAsync(env, ["stats"], output =>
            Regex.IsMatch(output, @"(?m)^data +PUT +2$") && Regex.IsMatch(output, @"(?m)^stats +POST +2$"));
        Assert.Matches(@"(?m)^SERVICE +METHOD +CALLS$", calls);
        Assert.Matches(@"(?m)^data +PUT +2$", calls);
        Assert.Matches(@"(?m)^stats +POST +2$", calls);

        var bytes = await EventuallyAsync(env, ["stats", "get", "rooms/lobby", "-m", "bytes"], output => output.Contains("  2\n", StringComparison.Ordinal));
        Assert.Matches(@"^ *SUM +MIN +MAX +COUNT\n *2000 +500 +1500 +2\n$", bytes);
        var groups = (await Kv4Cli.RunAsync(env, "stats", "get", "rooms/lobby", "-m", "bytes", "--groups", "--since", "2016")).Ok();
        Assert.Matches(@"(?m)^GROUP +SUM", groups);
        Assert.Matches(@"(?m)^\d{4} +2000 +500 +1500 +2$", groups);
        (await Kv4Cli.RunAsync(env, "stats", "add", "rooms/lobby", "-m", "api:3", "1")).Failed(ExitCodes.Server, "server error: forbidden");
    }

    [Fact]
    public async Task Profiles_name_servers_and_logins_and_the_command_line_wins_over_them()
    {
        var (name, secret, _) = await fixture.AccountAsync();
        var profiles = Path.Combine(Server.WorkPath, "profiles-" + Guid.NewGuid().ToString("N") + ".json");
        var env = new Dictionary<string, string> { ["KV4_PROFILES"] = profiles };
        (await Kv4Cli.RunAsync(env, "put", "p", "k", "1")).Failed(ExitCodes.Usage, "no login");

        Assert.Equal($"profile here saved in {profiles}\n",
            (await Kv4Cli.RunAsync(env, "profile", "set", "here", "--url", Server.Url.ToString(), "--user", name, "--secret", secret)).Ok());
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(profiles));
        var listed = (await Kv4Cli.RunAsync(env, "profile", "ls")).Ok();
        Assert.Matches($@"(?m)^here +{Server.Url.ToString().Replace(".", "\\.")} +{name} +\(set\)$", listed);
        Assert.DoesNotContain(secret, listed);

        (await Kv4Cli.RunAsync(env, "--profile", "here", "put", "p", "k", "1")).Ok();
        Assert.Equal("k\n", (await Kv4Cli.RunAsync(new Dictionary<string, string>(env) { ["KV4_PROFILE"] = "here" }, "ls", "p")).Ok());
        // The profile named wins over KV4_URL/KV4_USER/KV4_SECRET; the command line wins over the profile.
        Assert.Equal("k\n", (await Kv4Cli.RunAsync(new Dictionary<string, string>(env) { ["KV4_URL"] = "http://127.0.0.1:1", ["KV4_SECRET"] = "wrong" }, "-p", "here", "ls", "p")).Ok());
        (await Kv4Cli.RunAsync(env, "-p", "here", "--secret", "wrong", "ls", "p")).Failed(ExitCodes.Server, "server error: unauthorized");
        (await Kv4Cli.RunAsync(env, "-p", "nowhere", "ls", "p")).Failed(ExitCodes.Usage, "no profile 'nowhere'");

        Assert.Equal("profile here removed\n", (await Kv4Cli.RunAsync(env, "profile", "rm", "here")).Ok());
        (await Kv4Cli.RunAsync(env, "-p", "here", "ls", "p")).Failed(ExitCodes.Usage, "no profile 'here'");
    }

    /// <summary>FIELD VALUE lines as a dictionary.</summary>
    private static Dictionary<string, string> Fields(string table)
    {
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^FIELD +VALUE$", lines[0]);
        return lines.Skip(1).Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1].Trim());
    }

    /// <summary>Runs the command until its output satisfies <paramref name="done"/> (the server flushes stats every second).</summary>
    private static async Task<string> EventuallyAsync(Dictionary<string, string> env, string[] args, Func<string, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var output = (await Kv4Cli.RunAsync(env, args)).Ok();
            if (done(output)) return output;
            if (timeout.IsCancellationRequested) throw new TimeoutException($"kv4 {string.Join(' ', args)} never showed it:\n{output}");
            await Task.Delay(200);
        }
    }
}
