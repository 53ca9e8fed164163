using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kv4.Tests.Realtime;
using Kv4.Tests.Server;
using Kv4.Tests.Services;
using Kv4.Tests.Support;

namespace Kv4.Tests.Compat;

/// <summary>
/// Runs the Xirsys v3 API's curl examples (rendered as test data in `Kv4.Tests/Compat/xirsys-v3-examples.md`, whose top
/// says how) as written, with the real `curl` through bash, against one fresh Kv4 answering errors with HTTP 200 as the
/// Xirsys servers did. Each passes, or says `Kv4 differs: <id>` with the reply Kv4 gives instead: then Kv4 must give
/// exactly that, must still not give the reference's reply, and docs/compat.md must explain the id. The matching rules
/// (`"*"`, `"*NAME"`) are those of docs/api.md's examples (<see cref="ApiDocExamplesTests.Match"/>).
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class XirsysCompatibilityTests
{
    private const string DataFile = "Kv4.Tests/Compat/xirsys-v3-examples.md";

    [ToolFact("curl")]
    public async Task Every_reference_example_answers_as_the_reference_or_as_docs_compat_md_says()
    {
        var root = RepositoryRoot();
        var steps = Parse(await File.ReadAllTextAsync(Path.Combine(root, DataFile)));
        var compat = await File.ReadAllTextAsync(Path.Combine(root, "docs", "compat.md"));
        Assert.True(steps.Count(s => s.Command is not null) >= 85, $"found only {steps.Count(s => s.Command is not null)} examples");

        await using var server = await Kv4TestServer.StartAsync(
            ["--Kv4:Api:ErrorsAsOk=true", "--Kv4:Turn:Hosts:0=turn.example.com", "--Kv4:Turn:Secret=compat-turn-secret"]);
        var vars = new Dictionary<string, string>
        {
            ["KV4"] = server.BaseAddress.ToString().TrimEnd('/'),
            ["SYS"] = Kv4TestServer.SysSecret,
        };
        var sockets = new List<SignalClient>();
        var differing = new List<string>();
        try
        {
            foreach (var step in steps)
            {
                if (step.Join is { } tokenVariable)
                {
                    var token = vars[tokenVariable];
                    var uri = new Uri(vars["KV4"].Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/v2/" + token);
                    var socket = await SignalClient.ConnectAsync(uri);
                    sockets.Add(socket);
                    Assert.Equal("peers", (await socket.NextJsonAsync()).GetProperty("m").GetProperty("o").GetString());
                    continue;
                }
                var where = $"{DataFile} line {step.Line} ({step.Heading}): {step.Command}";
                var actual = await Shell.RunAsync(step.Command!, vars);
                using var actualDoc = Parse(actual, where);
                using var reference = JsonDocument.Parse(step.Reference!);
                if (step.DiffersId is null)
                {
                    var problem = ApiDocExamplesTests.Match(reference.RootElement, actualDoc.RootElement, "$", vars);
                    Assert.True(problem is null, $"{where}\n  expected {step.Reference}\n  actual   {actual}\n  {problem}");
                    continue;
                }
                differing.Add(step.DiffersId);
                Assert.True(compat.Contains($"`{step.DiffersId}`", StringComparison.Ordinal), $"{where}: docs/compat.md does not explain `{step.DiffersId}`");
                using var kv4 = JsonDocument.Parse(step.Kv4!);
                var stale = ApiDocExamplesTests.Match(reference.RootElement, actualDoc.RootElement, "$", new Dictionary<string, string>(vars));
                Assert.True(stale is not null, $"{where}: Kv4 now answers as the reference; drop the `Kv4 differs: {step.DiffersId}` note\n  actual {actual}");
                var differs = ApiDocExamplesTests.Match(kv4.RootElement, actualDoc.RootElement, "$", vars);
                Assert.True(differs is null, $"{where}\n  expected (Kv4 differs: {step.DiffersId}) {step.Kv4}\n  actual   {actual}\n  {differs}");
            }
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
        Assert.NotEmpty(differing);
    }

    private static JsonDocument Parse(string actual, string where)
    {
        try
        {
            return JsonDocument.Parse(actual);
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"{where}\n  got (not JSON) {actual}");
        }
    }

    /// <summary>One step of the data file: a curl example (with the reference's reply, and Kv4's when it differs) or a signal join.</summary>
    private sealed record Step(int Line, string Heading, string? Command, string? Reference, string? DiffersId, string? Kv4, string? Join);

    private static List<Step> Parse(string markdown)
    {
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var steps = new List<Step>();
        var heading = "";
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith('#')) heading = lines[i].TrimStart('#', ' ');
            if (lines[i] == "```signal")
            {
                var body = Block(lines, ref i);
                var join = JoinLine().Match(body.Trim());
                Assert.True(join.Success, $"{DataFile} line {i}: a signal block holds `join $VARIABLE`");
                steps.Add(new Step(i, heading, null, null, null, null, join.Groups[1].Value));
                continue;
            }
            if (lines[i] != "```sh") continue;
            var line = i + 1;
            var command = Block(lines, ref i).Trim();
            Assert.True(i + 1 < lines.Length && lines[i + 1] == "```json", $"{DataFile} line {line}: a curl example is followed by its reply");
            i++;
            var reference = Block(lines, ref i);
            string? id = null, kv4 = null;
            if (i + 1 < lines.Length && DiffersLine().Match(lines[i + 1]) is { Success: true } differs)
            {
                id = differs.Groups[1].Value;
                i++;
                Assert.True(i + 1 < lines.Length && lines[i + 1] == "```json", $"{DataFile} line {i}: `Kv4 differs:` is followed by Kv4's reply");
                i++;
                kv4 = Block(lines, ref i);
            }
            steps.Add(new Step(line, heading, command, reference, id, kv4, null));
        }
        return steps;
    }

    /// <summary>The text of the fenced block opened at line <paramref name="i"/>; leaves <paramref name="i"/> on its closing fence.</summary>
    private static string Block(string[] lines, ref int i)
    {
        var text = new StringBuilder();
        for (i++; i < lines.Length && lines[i] != "```"; i++) text.AppendLine(lines[i]);
        return text.ToString();
    }

    private static string RepositoryRoot() => Path.GetDirectoryName(Path.GetDirectoryName(ApiDocExamplesTests.FindDoc()))!;

    [GeneratedRegex(@"^join \$([A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex JoinLine();

    [GeneratedRegex(@"^Kv4 differs: `([a-z0-9-]+)`$")]
    private static partial Regex DiffersLine();
}
