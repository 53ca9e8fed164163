using System.Text;
using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Cli;

/// <summary>
/// `kv4 export` and `kv4 import` against a real server: an export imported into an empty account gives every path
/// the same versions (key, operation, value text) in the same order, across history pages; an export cut short is
/// finished with `--resume`; an import that stopped half way through a path goes on with `--resume` and writes no
/// version twice.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CliTransferTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    private CliServer Server => fixture.Server;

    [Fact]
    public async Task An_export_imported_into_an_empty_account_reproduces_every_history()
    {
        var (source, sourceSecret, sourceEnv) = await fixture.AccountAsync();
        using var from = Server.Client(source, sourceSecret);
        await WriteAsync(from, "notes", """{"k":"today","v":{"text":"hello"}}""", """{"k":"today","v":{ "text" : "hello again", "n": 1.50 }}""",
            """{"k":"count","v":42}""", """{"k":"s","v":"\u00e9t\u00e9 \ud83d\ude00 \"q\""}""", """{"k":"nothing","v":null}""");
        (await from.DeleteReplyAsync("/_data/notes?k=count")).IsOk();
        (await from.DeleteReplyAsync("/_data/notes?k=today")).IsOk();
        await WriteAsync(from, "notes", """{"k":"today","v":{"text":"back"}}""");
        await WriteAsync(from, "notes/deep/er", """{"k":"x","v":[1,{"a":true}]}""");
        await WriteAsync(from, "other", """{"k":"y","v":"outside notes"}""");
        // Over a page (1000 versions) in one path, three keys interleaved.
        await WriteAsync(from, "big", Enumerable.Range(0, 1100).Select(i => $$"""{"k":"k{{i % 3}}","v":{{i}}}""").ToArray());

        var file = Path.Combine(Server.WorkPath, source + ".jsonl");
        var export = await Kv4Cli.RunAsync(sourceEnv, "export", "/", file);
        export.Ok();
        Assert.Equal("", export.Out);
        Assert.Contains("kv4: exported 1110 versions of 4 paths under data/ to " + file, export.Err);
        var lines = await File.ReadAllLinesAsync(file);
        Assert.Equal(1 + 4 + 1110, lines.Length);
        using (var header = JsonDocument.Parse(lines[0]))
        {
            Assert.Equal("export", header.RootElement.GetProperty("kv4").GetString());
            Assert.Equal(source, header.RootElement.GetProperty("user").GetString());
        }

        var (target, targetSecret, targetEnv) = await fixture.AccountAsync();
        var import = await Kv4Cli.RunAsync(targetEnv, "import", file);
        import.Ok();
        Assert.Contains("kv4: imported 1110 versions of 4 paths into data as " + target, import.Err);
        Assert.False(File.Exists(file + ".kv4-import"), "the progress file goes once the import is complete");

        using var to = Server.Client(target, targetSecret);
        foreach (var path in new[] { "notes", "notes/deep/er", "big", "other" })
            Assert.Equal(await HistoryAsync(from, path), await HistoryAsync(to, path));
        Assert.Equal((await to.GetReplyAsync("/_data/notes")).Body, (await from.GetReplyAsync("/_data/notes")).Body);
        using (var today = JsonDocument.Parse((await Kv4Cli.RunAsync(targetEnv, "get", "notes", "today")).Ok()))
            Assert.Equal("back", today.RootElement.GetProperty("text").GetString());

        // A prefix exports only what is under it; stdout takes the file when none is named, and stdin feeds an import.
        var notes = await Kv4Cli.RunAsync(sourceEnv, "export", "notes");
        notes.Ok();
        var notesLines = notes.Lines;
        Assert.Equal(["""{"group":"notes","versions":8}""", """{"group":"notes/deep/er","versions":1}"""],
            notesLines.Where(l => l.StartsWith("{\"group\"", StringComparison.Ordinal)));
        Assert.Equal(lines.Skip(1).Where(l => l.Contains("\"notes", StringComparison.Ordinal)), notesLines.Skip(1));
        var (third, thirdSecret, thirdEnv) = await fixture.AccountAsync();
        (await Kv4Cli.RunWithStdinAsync(thirdEnv, notes.Out, "import", "-")).Ok();
        using var copy = Server.Client(third, thirdSecret);
        Assert.Equal(await HistoryAsync(from, "notes"), await HistoryAsync(copy, "notes"));
        Assert.Equal("notes\nnotes/deep/er\n", (await Kv4Cli.RunAsync(thirdEnv, "paths")).Ok());
    }

    [Fact]
    public async Task An_export_cut_short_is_finished_by_resume_and_an_import_stopped_half_way_goes_on_without_repeating_a_version()
    {
        var (source, sourceSecret, sourceEnv) = await fixture.AccountAsync();
        using var from = Server.Client(source, sourceSecret);
        foreach (var path in new[] { "p1", "p2", "p3" })
            await WriteAsync(from, path, Enumerable.Range(0, 30).Select(i => $$$"""{"k":"k{{{i % 4}}}","v":{"path":"{{{path}}}","i":{{{i}}}}}""").ToArray());
        var full = Path.Combine(Server.WorkPath, source + "-full.jsonl");
        (await Kv4Cli.RunAsync(sourceEnv, "export", "/", full)).Ok();
        var fullText = await File.ReadAllTextAsync(full);

        // Cut in the middle of a line of the second group: the resume keeps the first group, redoes the rest.
        var cut = Path.Combine(Server.WorkPath, source + "-cut.jsonl");
        var secondGroup = fullText.IndexOf("{\"group\":\"p2\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(cut, fullText[..(secondGroup + 200)]);
        var resumed = await Kv4Cli.RunAsync(sourceEnv, "export", "/", cut, "--resume");
        resumed.Ok();
        Assert.Contains("exported 60 versions of 2 paths (1 were already in the file)", resumed.Err);
        Assert.Equal(fullText, await File.ReadAllTextAsync(cut));
        (await Kv4Cli.RunAsync(sourceEnv, "export", "p1", cut, "--resume")).Failed(ExitCodes.Usage, $"{cut} is an export of data/, not of data/p1");

        // An import that fails half way through p2 (a version whose key the server refuses) ...
        var broken = Path.Combine(Server.WorkPath, source + "-import.jsonl");
        var lines = fullText.Split('\n');
        var bad = Array.FindIndex(lines, l => l.StartsWith("{\"path\":\"p2\"", StringComparison.Ordinal)) + 17;
        var original = lines[bad];
        lines[bad] = System.Text.RegularExpressions.Regex.Replace(original, "\"k\":\"k[0-9]\"", "\"k\":\"\"");
        Assert.NotEqual(original, lines[bad]);
        await File.WriteAllTextAsync(broken, string.Join('\n', lines));
        var (target, targetSecret, targetEnv) = await fixture.AccountAsync();
        var failed = await Kv4Cli.RunAsync(targetEnv, "import", broken);
        failed.Failed(ExitCodes.Server, "server error: bad_key");
        Assert.Contains($"kv4: the import stopped after 47 versions; continue it with: kv4 import {broken} --resume", failed.Err);
        using var to = Server.Client(target, targetSecret);
        Assert.Equal(17, (await HistoryAsync(to, "p2")).Count);

        // ... is not started again by mistake, and once the file is mended it goes on from the version that failed.
        (await Kv4Cli.RunAsync(targetEnv, "import", broken)).Failed(ExitCodes.Usage, "an import of " + broken + " stopped before it finished");
        await File.WriteAllTextAsync(broken, fullText);
        var finished = await Kv4Cli.RunAsync(targetEnv, "import", broken, "--resume");
        finished.Ok();
        Assert.Contains("imported 90 versions of 3 paths", finished.Err);
        foreach (var path in new[] { "p1", "p2", "p3" })
            Assert.Equal(await HistoryAsync(from, path), await HistoryAsync(to, path));
        Assert.False(File.Exists(broken + ".kv4-import"));
        (await Kv4Cli.RunAsync(targetEnv, "import", broken, "--resume")).Failed(ExitCodes.Usage, "nothing to resume");
    }

    [Fact]
    public async Task A_resumed_import_counts_the_versions_that_arrived_after_its_last_saved_position()
    {
        // The progress file is saved at each path's start and then about once a second: a stop between two saves
        // leaves versions on the server that the file does not count. Putting back an older progress file is that stop.
        var (source, sourceSecret, sourceEnv) = await fixture.AccountAsync();
        using var from = Server.Client(source, sourceSecret);
        await WriteAsync(from, "only", Enumerable.Range(0, 12).Select(i => $$"""{"k":"k{{i % 3}}","v":{{i}}}""").ToArray());
        (await from.DeleteReplyAsync("/_data/only?k=k1")).IsOk();
        await WriteAsync(from, "only", """{"k":"k1","v":"again"}""");
        var file = Path.Combine(Server.WorkPath, source + ".jsonl");
        (await Kv4Cli.RunAsync(sourceEnv, "export", "/", file)).Ok();
        var lines = (await File.ReadAllTextAsync(file)).Split('\n');
        var state = file + ".kv4-import";

        var (target, targetSecret, targetEnv) = await fixture.AccountAsync();
        var cutAt = 9;
        await File.WriteAllTextAsync(file, string.Join('\n', lines.Take(2 + cutAt)) + "\n");
        var partial = await Kv4Cli.RunAsync(targetEnv, "import", file);
        partial.Failed(ExitCodes.Usage, $"{file} ends in the middle of the versions of only");
        var atGroupStart = await File.ReadAllTextAsync(state);
        Assert.Contains("\"group\":\"only\"", atGroupStart);

        await File.WriteAllTextAsync(file, string.Join('\n', lines));
        await File.WriteAllTextAsync(state, System.Text.RegularExpressions.Regex.Replace(atGroupStart,
            "\"offset\":[0-9]+,\"group\":\"only\",\"group_left\":[0-9]+,\"anchor\":(null|\"[0-9]+\"),\"applied\":[0-9]+",
            $"\"offset\":{Encoding.UTF8.GetByteCount(lines[0]) + Encoding.UTF8.GetByteCount(lines[1]) + 2},\"group\":\"only\",\"group_left\":14,\"anchor\":null,\"applied\":0"));
        var resumed = await Kv4Cli.RunAsync(targetEnv, "import", file, "--resume");
        resumed.Ok();
        Assert.Contains($"kv4: {cutAt} versions of only had arrived before the import stopped; going on after them", resumed.Err);
        using var to = Server.Client(target, targetSecret);
        Assert.Equal(await HistoryAsync(from, "only"), await HistoryAsync(to, "only"));
    }

    private static async Task WriteAsync(HttpClient client, string path, params string[] bodies)
    {
        foreach (var body in bodies) (await client.PutReplyAsync("/_data/" + path, body)).IsOk();
    }

    /// <summary>A path's versions, oldest first, as (key, operation, the value's text): what an import must reproduce.</summary>
    private static async Task<List<string>> HistoryAsync(HttpClient client, string path)
    {
        var versions = new List<string>();
        string? cursor = null;
        do
        {
            var reply = (await client.GetReplyAsync($"/_data/{path}?time_series=1&format=full&limit=300" + (cursor is null ? "" : "&cursor=" + cursor))).IsOk();
            foreach (var version in reply.V.EnumerateArray())
                versions.Add($"{version.GetProperty("k").GetString()} {version.GetProperty("op").GetString()} {version.GetProperty("v").GetRawText()}");
            cursor = reply.Json.TryGetProperty("next", out var next) ? next.GetString() : null;
        }
        while (cursor is not null);
        versions.Reverse();
        Assert.NotEmpty(versions);
        return versions;
    }
}
