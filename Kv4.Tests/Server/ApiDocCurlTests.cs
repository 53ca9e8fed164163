using System.Text.Json;
using Kv4.Tests.Services;
using Kv4.Tests.Support;

namespace Kv4.Tests.Server;

/// <summary>
/// Runs every example of docs/api.md, and of the README's "First five minutes", as written, with the real `curl`
/// through bash, against one fresh real server per page (the format is described at the top of docs/api.md), and
/// compares each reply body with the documented one. The parsing and the matching rules (`"*"`, `"*NAME"`) are the
/// service-level runner's, shared. A ```` ```text ```` reply is an event stream: its `data:` lines are compared, in
/// order, as JSON; its other lines (comments, `id:`) are for the reader.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ApiDocCurlTests
{
    [ToolFact("curl")]
    public async Task Every_curl_example_answers_as_documented_over_http()
    {
        var examples = ApiDocExamplesTests.ParseExamples(await File.ReadAllTextAsync(ApiDocExamplesTests.FindDoc()));
        Assert.True(examples.Count >= 40, $"found only {examples.Count} examples");
        await RunAsync("docs/api.md", examples);
    }

    [ToolFact("curl")]
    public async Task The_readme_first_five_minutes_answer_as_written()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(ApiDocExamplesTests.FindDoc()))!, "README.md"));
        var start = readme.IndexOf("\n## First five minutes", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no \"First five minutes\" section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        var examples = ApiDocExamplesTests.ParseExamples(section);
        Assert.True(examples.Count >= 5, $"found only {examples.Count} examples");
        Assert.Contains(examples, e => e.EventStream);
        await RunAsync("README.md", examples);
    }

    [ToolFact("curl")]
    public async Task The_connection_lifetime_example_of_realtime_md_answers_as_written() =>
        await RunAsync("docs/realtime.md", Section("docs/realtime.md", "## Connection lifetimes", minimum: 7));

    [ToolFact("curl")]
    public async Task The_login_throttling_and_cors_examples_of_operations_md_answer_as_written()
    {
        var examples = Section("docs/operations.md", "## Login throttling", minimum: 1).Concat(Section("docs/operations.md", "## CORS", minimum: 2)).ToList();
        await RunAsync("docs/operations.md", examples, "--Kv4:Cors:Origins:0=https://app.example.com");
    }

    [ToolFact("curl")]
    public async Task The_point_in_time_examples_of_operations_md_answer_as_written() =>
        await RunAsync("docs/operations.md", Section("docs/operations.md", "## Point-in-time reads", minimum: 8));

    [ToolFact("curl")]
    public async Task The_backup_examples_of_operations_md_answer_as_written() =>
        await RunAsync("docs/operations.md", Section("docs/operations.md", "## Backups", minimum: 2));

    /// <summary>The examples under one heading of a page, up to the next heading of the same or a higher level.</summary>
    private static List<(string Command, string Reply, int Line, bool EventStream)> Section(string page, string heading, int minimum)
    {
        var root = Path.GetDirectoryName(Path.GetDirectoryName(ApiDocExamplesTests.FindDoc()))!;
        var text = File.ReadAllText(Path.Combine(root, page));
        var start = text.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{page} has no \"{heading}\" section");
        var level = heading[..(heading.IndexOf(' ') + 1)];
        var end = text.IndexOf("\n" + level, start + heading.Length + 1, StringComparison.Ordinal);
        if (level == "### ")
        {
            var higher = text.IndexOf("\n## ", start + heading.Length + 1, StringComparison.Ordinal);
            if (higher >= 0 && (end < 0 || higher < end)) end = higher;
        }
        var examples = ApiDocExamplesTests.ParseExamples(text[start..(end < 0 ? text.Length : end)]);
        Assert.True(examples.Count >= minimum, $"{page} {heading}: found only {examples.Count} examples");
        return examples;
    }

    private static async Task RunAsync(string page, List<(string Command, string Reply, int Line, bool EventStream)> examples, params string[] serverArgs)
    {
        ExternalTool.Require("curl"); // bash would only say "command not found" for each example
        await using var server = await Kv4TestServer.StartAsync(serverArgs);
        var vars = new Dictionary<string, string>
        {
            ["KV4"] = server.BaseAddress.ToString().TrimEnd('/'),
            ["SYS"] = Kv4TestServer.SysSecret,
        };
        foreach (var (command, expected, line, eventStream) in examples)
        {
            if (eventStream)
            {
                var expectedEvents = DataLines(expected);
                var actualEvents = DataLines(await Shell.StreamAsync(command, vars, expectedEvents.Count));
                for (var i = 0; i < expectedEvents.Count; i++)
                    Compare(page, line, command, expectedEvents[i], actualEvents[i], vars);
            }
            else
            {
                Compare(page, line, command, expected, await Shell.RunAsync(command, vars), vars);
            }
        }
    }

    private static List<string> DataLines(string stream) =>
        stream.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l["data:".Length..].Trim()).ToList();

    private static void Compare(string page, int line, string command, string expected, string actual, Dictionary<string, string> vars)
    {
        using var expectedDoc = JsonDocument.Parse(expected);
        JsonDocument actualDoc;
        try { actualDoc = JsonDocument.Parse(actual); }
        catch (JsonException) { throw new Xunit.Sdk.XunitException($"{page} line {line}: {command}\n  expected {expected}\n  got (not JSON) {actual}"); }
        using (actualDoc)
        {
            var problem = ApiDocExamplesTests.Match(expectedDoc.RootElement, actualDoc.RootElement, "$", vars);
            Assert.True(problem is null, $"{page} line {line}: {command}\n  expected {expected}\n  actual   {actual}\n  {problem}");
        }
    }
}
