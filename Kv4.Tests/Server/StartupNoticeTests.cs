using System.Text.Json;
using Kv4.Server.Configuration;
using Kv4.Tests.Support;

namespace Kv4.Tests.Server;

/// <summary>
/// What a newcomer sees on the first start (`dotnet Kv4.Server.dll` as its own process, fresh data directory): where
/// the `$sys` secret is and a curl that creates the first account, in JSON lines when the output is not a terminal
/// and as readable text when asked; the secret itself never appears.
/// </summary>
[Trait("Category", "Integration")]
public sealed class StartupNoticeTests
{
    [Fact]
    public async Task Redirected_output_is_json_naming_the_secret_file_and_the_first_account_curl_never_the_secret()
    {
        using var work = new Kv4.Tests.Engine.Support.TempDirectory("startup-notice");
        var dataDir = Path.Combine(work.Path, "data");
        string secret, output;
        await using (var server = ServerProcess.Start(work.Path, new Dictionary<string, string> { ["Kv4__DataDir"] = dataDir }))
        {
            var firstAccount = Message(await server.WaitForLineAsync(line => Message(line).StartsWith("no account yet", StringComparison.Ordinal)));
            output = server.Output;
            var address = output.Split('\n').Select(Message).Single(m => m.StartsWith("Now listening on: ", StringComparison.Ordinal))["Now listening on: ".Length..];
            var secretFile = Path.Combine(dataDir, ServerSecrets.SysSecretFile);
            secret = await File.ReadAllTextAsync(secretFile);

            Assert.All(output.Split('\n'), line => JsonDocument.Parse(line).Dispose());
            Assert.Contains(output.Split('\n').Select(Message), m => m.StartsWith($"the $sys secret is in {secretFile} ", StringComparison.Ordinal));
            Assert.Contains($$$"""curl -s -u "\$sys:$(cat '{{{secretFile}}}')" -X PUT "{{{address}}}/_acc/accounts" -d '{"k":"elena","v":{"email":"elena@example.com"}}'""", firstAccount);
        }
        Assert.DoesNotContain(secret.Trim(), output);
    }

    [ToolFact("curl")]
    public async Task On_request_the_log_is_text_and_its_curl_pasted_into_a_shell_creates_the_first_account()
    {
        ExternalTool.Require("curl");
        using var work = new Kv4.Tests.Engine.Support.TempDirectory("startup-notice");
        var dataDir = Path.Combine(work.Path, "data");
        await using var server = ServerProcess.Start(work.Path, new Dictionary<string, string>
        {
            ["Kv4__DataDir"] = dataDir,
            ["Kv4__Logging__Json"] = "false",
        });
        var command = (await server.WaitForLineAsync(line => line.TrimStart().StartsWith("curl ", StringComparison.Ordinal))).Trim();
        Assert.Contains("no account yet; create the first one with:", server.Output);
        Assert.DoesNotContain(server.Output.Split('\n'), line => line.StartsWith('{'));

        var reply = await Shell.RunAsync(command, new Dictionary<string, string>());
        using var json = JsonDocument.Parse(reply);
        Assert.Equal("ok", json.RootElement.GetProperty("s").GetString());
        Assert.Equal("elena", json.RootElement.GetProperty("v").GetProperty("username").GetString());
        Assert.Matches("^[0-9a-f]{32}$", json.RootElement.GetProperty("v").GetProperty("secret").GetString());
        Assert.DoesNotContain((await File.ReadAllTextAsync(Path.Combine(dataDir, ServerSecrets.SysSecretFile))).Trim(), server.Output);
    }

    private static string Message(string jsonLine)
    {
        if (!jsonLine.StartsWith('{')) return "";
        using var json = JsonDocument.Parse(jsonLine);
        return json.RootElement.TryGetProperty("Message", out var m) ? m.GetString() ?? "" : "";
    }
}

/// <summary>The address the first-account curl uses: one a local curl reaches, an http one when there is a choice.</summary>
[Trait("Category", "Unit")]
public sealed class StartupNoticeAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:4000", "http://127.0.0.1:4000")]
    [InlineData("http://[::]:4000", "http://localhost:4000")]
    [InlineData("http://0.0.0.0:8080", "http://localhost:8080")]
    [InlineData("http://*:4000", "http://localhost:4000")]
    [InlineData("https://127.0.0.1:4443 http://127.0.0.1:4000", "http://127.0.0.1:4000")]
    [InlineData("https://node1.example.com:4443", "https://node1.example.com:4443")]
    public void A_wildcard_host_becomes_localhost_and_http_is_preferred(string addresses, string expected) =>
        Assert.Equal(expected, Kv4.Server.Logging.StartupNotice.BaseUrl(addresses.Split(' ')));
}
