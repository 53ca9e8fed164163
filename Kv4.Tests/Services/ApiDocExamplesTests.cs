using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>
/// Runs the examples of docs/api.md (format described at its top) so the page stays true: once against the services
/// directly (examples for services this set does not hold are skipped there; a refused login answers `unauthorized`,
/// as the host does), and once over real HTTP against a real server, every example, as curl would send it.
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class ApiDocExamplesTests
{
    [Fact]
    public async Task Every_example_answers_as_documented()
    {
        var examples = ParseExamples(await File.ReadAllTextAsync(FindDoc()));
        Assert.True(examples.Count >= 40, $"found only {examples.Count} examples");
        await using var h = await ServiceHarness.StartAsync();
        var vars = new Dictionary<string, string> { ["KV4"] = "http://127.0.0.1:4000", ["SYS"] = ServiceHarness.SystemSecret };
        var ran = 0;
        foreach (var (command, expected, line, _) in examples)
        {
            // Examples that use other curl options or variables set by examples of other services are the HTTP runner's.
            if (Curl.Parse(command, vars) is not { } call) continue;
            var uri = new Uri(call.Url);
            var segments = uri.AbsolutePath.TrimStart('/').Split('/', 2);
            if (!segments[0].StartsWith('_') || !h.Catalog.TryFind(segments[0][1..], out _)) continue;
            var path = segments.Length > 1 ? segments[1] : "";
            var colon = call.User.IndexOf(':');
            var caller = await h.LoginAsync(call.User[..colon], call.User[(colon + 1)..]);
            string actual;
            if (caller is null)
            {
                actual = """{"s":"error","v":"unauthorized"}""";
            }
            else
            {
                var method = call.Method switch { "GET" => ApiMethod.Get, "PUT" => ApiMethod.Put, "POST" => ApiMethod.Post, "DELETE" => ApiMethod.Delete, _ => throw new InvalidOperationException(call.Method) };
                actual = (await h.CallAsync(caller, method, segments[0][1..], Uri.UnescapeDataString(path), uri.Query.TrimStart('?'), call.Body)).Text;
            }
            using var expectedDoc = JsonDocument.Parse(expected);
            using var actualDoc = JsonDocument.Parse(actual);
            var problem = Match(expectedDoc.RootElement, actualDoc.RootElement, "$", vars);
            Assert.True(problem is null, $"docs/api.md line {line}: {command}\n  expected {expected}\n  actual   {actual}\n  {problem}");
            ran++;
        }
        Assert.True(ran >= 70, $"ran only {ran} examples (docs/api.md holds 71 for these services)");
    }

    [Fact]
    public async Task Every_example_answers_as_documented_over_http()
    {
        var examples = ParseExamples(await File.ReadAllTextAsync(FindDoc()));
        await using var server = await Kv4.Tests.Server.Kv4TestServer.StartAsync();
        var vars = new Dictionary<string, string>
        {
            ["KV4"] = server.BaseAddress.ToString().TrimEnd('/'),
            ["SYS"] = Kv4.Tests.Server.Kv4TestServer.SysSecret,
        };
        using var client = server.Client();
        var ran = 0;
        foreach (var (command, expected, line, _) in examples)
        {
            if (Curl.Parse(command, vars) is not { } call) continue;
            using var request = new HttpRequestMessage(new HttpMethod(call.Method), call.Url);
            if (call.User.Length > 0)
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(call.User)));
            if (call.Body is not null) request.Content = new StringContent(call.Body, Encoding.UTF8, "application/x-www-form-urlencoded");
            using var response = await client.SendAsync(request);
            var actual = await response.Content.ReadAsStringAsync();
            using var expectedDoc = JsonDocument.Parse(expected);
            using var actualDoc = JsonDocument.Parse(actual);
            var problem = Match(expectedDoc.RootElement, actualDoc.RootElement, "$", vars);
            Assert.True(problem is null, $"docs/api.md line {line}: {command}\n  expected {expected}\n  actual   {actual}\n  {problem}");
            ran++;
        }
        Assert.True(ran >= 70, $"ran only {ran} examples");
    }

    internal static string? Match(JsonElement expected, JsonElement actual, string where, Dictionary<string, string> vars)
    {
        if (expected.ValueKind == JsonValueKind.String && expected.GetString() is { } s && s.StartsWith('*'))
        {
            if (s.Length > 1) vars[s[1..]] = actual.ValueKind == JsonValueKind.String ? actual.GetString()! : actual.GetRawText();
            return null;
        }
        if (expected.ValueKind != actual.ValueKind) return $"{where}: {expected.ValueKind} expected, {actual.ValueKind} found";
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var names = expected.EnumerateObject().Select(p => p.Name).ToHashSet();
                var actualNames = actual.EnumerateObject().Select(p => p.Name).ToHashSet();
                if (!names.SetEquals(actualNames)) return $"{where}: members [{string.Join(",", names)}] expected, [{string.Join(",", actualNames)}] found";
                foreach (var p in expected.EnumerateObject())
                    if (Match(p.Value, actual.GetProperty(p.Name), $"{where}.{p.Name}", vars) is { } problem) return problem;
                return null;
            case JsonValueKind.Array:
                if (expected.GetArrayLength() != actual.GetArrayLength()) return $"{where}: {expected.GetArrayLength()} items expected, {actual.GetArrayLength()} found";
                for (var i = 0; i < expected.GetArrayLength(); i++)
                    if (Match(expected[i], actual[i], $"{where}[{i}]", vars) is { } problem) return problem;
                return null;
            default:
                return expected.GetRawText() == actual.GetRawText() ? null : $"{where}: {expected.GetRawText()} expected, {actual.GetRawText()} found";
        }
    }

    /// <summary>
    /// The examples of a page in order. <c>EventStream</c>: the reply is a ```` ```text ```` block, the output of a
    /// stream whose `data:` lines are matched as JSON (see <see cref="Kv4.Tests.Server.ApiDocCurlTests"/>).
    /// </summary>
    internal static List<(string Command, string Reply, int Line, bool EventStream)> ParseExamples(string markdown)
    {
        var examples = new List<(string, string, int, bool)>();
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimEnd() != "```sh") continue;
            var command = new StringBuilder();
            var j = i + 1;
            for (; j < lines.Length && lines[j].TrimEnd() != "```"; j++) command.AppendLine(lines[j]);
            if (j + 1 >= lines.Length || lines[j + 1].TrimEnd() is not ("```json" or "```text")) continue;
            var reply = new StringBuilder();
            var k = j + 2;
            for (; k < lines.Length && lines[k].TrimEnd() != "```"; k++) reply.AppendLine(lines[k]);
            examples.Add((command.ToString().Trim(), reply.ToString().Trim(), i + 1, lines[j + 1].TrimEnd() == "```text"));
            i = k;
        }
        return examples;
    }

    internal static string FindDoc()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "api.md");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("docs/api.md not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The few `curl` options the examples use, with POSIX shell quoting and $VARIABLE expansion.</summary>
    private sealed record Curl(string Method, string User, string Url, string? Body)
    {
        public static Curl? Parse(string command, IReadOnlyDictionary<string, string> vars)
        {
            var words = Words(command, vars);
            if (words is null || words[0] != "curl") return null;
            string method = "GET", user = "", url = "";
            string? body = null;
            for (var i = 1; i < words.Count; i++)
            {
                switch (words[i])
                {
                    case "-s": break;
                    case "-X": method = words[++i]; break;
                    case "-u": user = words[++i]; break;
                    case "-d": body = words[++i]; if (method == "GET") method = "POST"; break;
                    case var option when option.StartsWith('-'): return null;
                    default: url = words[i]; break;
                }
            }
            return new Curl(method, user, url, body);
        }

        private static List<string>? Words(string command, IReadOnlyDictionary<string, string> vars)
        {
            var words = new List<string>();
            var word = new StringBuilder();
            var inWord = false;
            for (var i = 0; i < command.Length; i++)
            {
                var c = command[i];
                if (char.IsWhiteSpace(c))
                {
                    if (inWord) words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                    continue;
                }
                inWord = true;
                if (c == '\'')
                {
                    var end = command.IndexOf('\'', i + 1);
                    word.Append(command, i + 1, end - i - 1);
                    i = end;
                }
                else if (c == '"')
                {
                    for (i++; command[i] != '"'; i++)
                    {
                        if (command[i] == '\\' && command[i + 1] is '$' or '"' or '\\') word.Append(command[++i]);
                        else if (command[i] == '$') { if ((i = Expand(command, i, vars, word)) < 0) return null; }
                        else word.Append(command[i]);
                    }
                }
                else if (c == '$') { if ((i = Expand(command, i, vars, word)) < 0) return null; }
                else word.Append(c);
            }
            if (inWord) words.Add(word.ToString());
            return words;
        }

        private static int Expand(string command, int dollar, IReadOnlyDictionary<string, string> vars, StringBuilder word)
        {
            var name = VariableName().Match(command, dollar + 1).Value;
            if (!vars.TryGetValue(name, out var value)) return -1;
            word.Append(value);
            return dollar + name.Length;
        }
    }

    [GeneratedRegex("\\G[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex VariableName();
}
