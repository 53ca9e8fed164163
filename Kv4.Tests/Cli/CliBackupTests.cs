using System.Net;
using Kv4.Tests.Server;
using Kv4.Tests.Support;

namespace Kv4.Tests.Cli;

/// <summary>
/// `kv4 backup` against a real server while a client keeps writing, `Kv4.Server restore` into a new data directory, and
/// a server started on it: the accounts (their secrets too), every history and every deletion are back, the writes
/// that went on during the backup up to its cut are there, and only `$sys` may take a backup.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CliBackupTests
{
    [Fact]
    public async Task A_backup_taken_while_writes_go_on_restores_with_one_command_into_a_server_that_answers_as_the_original()
    {
        await using var server = await CliServer.StartAsync();
        var secret = await server.CreateAccountAsync("alice");
        using var alice = server.Client("alice", secret);
        for (var i = 0; i < 40; i++) (await alice.PutReplyAsync("/_data/notes", $$$"""{"k":"k{{{i % 4}}}","v":{"i":{{{i}}}}}""")).IsOk();
        (await alice.DeleteReplyAsync("/_data/notes?k=k3")).IsOk();

        using var stop = new CancellationTokenSource();
        var acknowledged = 0;
        var writer = Task.Run(async () =>
        {
            using var client = server.Client("alice", secret);
            for (var n = 1; !stop.IsCancellationRequested; n++)
            {
                (await client.PutReplyAsync("/_data/live", $$"""{"k":"n","v":{{n}}}""")).IsOk();
                Volatile.Write(ref acknowledged, n);
            }
        });
        await WaitForAsync(() => Volatile.Read(ref acknowledged) >= 20);
        var file = Path.Combine(server.WorkPath, "kv4.backup");
        var backup = await Kv4Cli.RunAsync(server.Login("$sys", server.SysSecret), "backup", file);
        await stop.CancelAsync();
        await writer;
        var acknowledgedInAll = Volatile.Read(ref acknowledged);
        backup.Ok();
        Assert.Contains($"kv4: backup written to {file}", backup.Err);
        Assert.False(File.Exists(file + ".partial"));

        // Only $sys: an account's own login gets forbidden and no file.
        var mine = Path.Combine(server.WorkPath, "mine.backup");
        var refused = await Kv4Cli.RunAsync(server.Login("alice", secret), "backup", mine);
        refused.Failed(ExitCodes.Server, "server error: forbidden");
        Assert.False(File.Exists(mine) || File.Exists(mine + ".partial"));
        using (var anonymous = new HttpClient { BaseAddress = server.Url })
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/_backup")).StatusCode);

        var restoredDir = Path.Combine(server.WorkPath, "restored");
        var restore = await ServerCommand.RunAsync("restore", file, $"--Kv4:DataDir={restoredDir}");
        Assert.True(restore.ExitCode == 0, restore.Err);
        Assert.Contains($"into {restoredDir}", restore.Out);
        var again = await ServerCommand.RunAsync("restore", file, $"--Kv4:DataDir={restoredDir}");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("not empty", again.Err);

        await using var copy = await CliServer.StartAsync(dataDirectory: restoredDir);
        using var aliceThere = copy.Client("alice", secret);
        foreach (var query in new[] { "/_data/notes", "/_data/notes?time_series=1&k=k1", "/_data/notes?time_series=1&k=k3" })
            Assert.Equal((await alice.GetReplyAsync(query)).IsOk().Body, (await aliceThere.GetReplyAsync(query)).IsOk().Body);
        (await aliceThere.GetReplyAsync("/_data/notes?k=k3")).IsError("not_found", HttpStatusCode.NotFound);
        // The writes acknowledged before the backup began are in it, and no version is missing up to its cut.
        var live = (await aliceThere.GetReplyAsync("/_data/live?k=n")).IsOk().V.GetInt32();
        Assert.InRange(live, 20, acknowledgedInAll);
        var liveHistory = (await aliceThere.GetReplyAsync("/_data/live?time_series=1&k=n&limit=1000")).IsOk().V.GetArrayLength();
        Assert.Equal(live, liveHistory);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(ServerProcess.Patience);
        while (!condition()) await Task.Delay(10, timeout.Token);
    }
}
