using System.Diagnostics;
using System.Text.Json;
using Kv4.Tests.Services;
using Kv4.Tests.Support;

namespace Kv4.Tests.Server;

/// <summary>
/// Runs every example of docs/api.md as written, with the real `curl` through bash, against one fresh real server
/// (the format is described at the top of docs/api.md), and compares each reply body with the documented one.
/// The parsing and the matching rules (`"*"`, `"*NAME"`) are the service-level runner's, shared.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ApiDocCurlTests
{
    [ToolFact("curl")]
    public async Task Every_curl_example_answers_as_documented_over_http()
    {
        var examples = ApiDocExamplesTests.ParseExamples(await File.ReadAllTextAsync(ApiDocExamplesTests.FindDoc()));
        Assert.True(examples.Count >= 40, $"found only {examples.Count} examples");
        await using var server = await Kv4TestServer.StartAsync();
        var vars = new Dictionary<string, string>
        {
            ["KV4"] = server.BaseAddress.ToString().TrimEnd('/'),
            ["SYS"] = Kv4TestServer.SysSecret,
        };
        foreach (var (command, expected, line) in examples)
        {
            var actual = await RunAsync(command, vars);
            using var expectedDoc = JsonDocument.Parse(expected);
            JsonDocument actualDoc;
            try { actualDoc = JsonDocument.Parse(actual); }
            catch (JsonException) { throw new Xunit.Sdk.XunitException($"docs/api.md line {line}: {command}\n  expected {expected}\n  got (not JSON) {actual}"); }
            using (actualDoc)
            {
                var problem = ApiDocExamplesTests.Match(expectedDoc.RootElement, actualDoc.RootElement, "$", vars);
                Assert.True(problem is null, $"docs/api.md line {line}: {command}\n  expected {expected}\n  actual   {actual}\n  {problem}");
            }
        }
    }

    private static async Task<string> RunAsync(string command, IReadOnlyDictionary<string, string> vars)
    {
        var start = new ProcessStartInfo("/bin/bash", ["-c", command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in vars) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, $"{command}\nexit {process.ExitCode}: {await error}");
        return await output;
    }
}
