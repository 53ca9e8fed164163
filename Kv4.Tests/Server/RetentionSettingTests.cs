using Kv4.Engine.Retention;
using Kv4.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kv4.Tests.Server;

/// <summary>`Kv4:Retention:*` as configuration: the names of issue 15 bind to a policy, and invalid rules stop the start.</summary>
[Trait("Category", "Integration")]
public sealed class RetentionSettingTests
{
    [Fact]
    public void The_settings_bind_to_the_policy_they_name()
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(
        [
            "--Kv4:Retention:Default:MaxVersions=100",
            "--Kv4:Retention:Default:MaxAgeSeconds=3600",
            "--Kv4:Retention:Layers:data:MaxVersions=10",
            "--Kv4:Retention:Layers:data:Paths:0:Prefix=rooms/logs",
            "--Kv4:Retention:Layers:data:Paths:0:MaxAgeSeconds=60",
            "--Kv4:Retention:Layers:subs:MaxAgeSeconds=600",
        ]).Build();
        var options = configuration.GetSection(Kv4Options.Section).Get<Kv4Options>()!;
        var policy = options.Retention.ToPolicy(out var problems);
        Assert.Empty(problems);
        Assert.Equal(new RetentionRule(100, 3600), policy!.RuleFor("cfg", "x"));
        Assert.Equal(new RetentionRule(10, null), policy.RuleFor("data", "rooms"));
        Assert.Equal(new RetentionRule(null, 60), policy.RuleFor("data", "rooms/logs/a"));
        Assert.Equal(new RetentionRule(null, 600), policy.RuleFor("subs", "lobby"));
        Assert.Equal(RetentionPolicy.BuiltIn["stats"], policy.RuleFor("stats", "x"));
    }

    [Fact]
    public async Task A_server_starts_with_valid_rules()
    {
        await using var server = await Kv4TestServer.StartAsync(["--Kv4:Retention:Layers:data:MaxVersions=10", "--Kv4:Retention:Default:MaxAgeSeconds=86400"]);
        using var client = server.SystemClient();
        (await client.PutReplyAsync("/_data/p", "{\"k\":\"a\",\"v\":1}")).IsOk();
    }

    [Theory]
    [InlineData("--Kv4:Retention:Default:MaxVersions=0")]
    [InlineData("--Kv4:Retention:Layers:data:MaxAgeSeconds=0")]
    [InlineData("--Kv4:Retention:Layers:data:Paths:0:Prefix=a//b --Kv4:Retention:Layers:data:Paths:0:MaxVersions=1")]
    [InlineData("--Kv4:Retention:Layers:data:Paths:0:MaxVersions=1")]
    public async Task Invalid_rules_stop_the_start(string knobs)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "kv4-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => Kv4TestServer.StartAsync(knobs.Split(' '), dataDir: dataDir));
        }
        finally
        {
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }
}
