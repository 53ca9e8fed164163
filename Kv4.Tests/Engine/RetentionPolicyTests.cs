using Kv4.Engine.Retention;

namespace Kv4.Tests.Engine;

/// <summary><see cref="RetentionPolicy"/>: which rule applies where, the platform's built-in rules, and invalid rules refused with their reason.</summary>
[Trait("Category", "Unit")]
public sealed class RetentionPolicyTests
{
    [Fact]
    public void The_most_specific_rule_applies_by_whole_segments()
    {
        var policy = RetentionPolicy.Create(new RetentionRule(100, null),
        [
            new LayerRetention("data", new RetentionRule(null, 86_400), [("rooms/logs", new RetentionRule(5, null)), ("rooms", new RetentionRule(50, null))]),
        ], out var problems);
        Assert.Empty(problems);
        Assert.Equal(new RetentionRule(5, null), policy!.RuleFor("data", "rooms/logs"));
        Assert.Equal(new RetentionRule(5, null), policy.RuleFor("data", "rooms/logs/today"));
        Assert.Equal(new RetentionRule(50, null), policy.RuleFor("data", "rooms/logsx"));
        Assert.Equal(new RetentionRule(50, null), policy.RuleFor("data", "rooms"));
        Assert.Equal(new RetentionRule(null, 86_400), policy.RuleFor("data", "roomsx"));
        Assert.Equal(new RetentionRule(null, 86_400), policy.RuleFor("data", ""));
        Assert.Equal(new RetentionRule(100, null), policy.RuleFor("cfg", "rooms/logs"));
    }

    [Fact]
    public void User_data_keeps_everything_and_the_platforms_churn_is_bounded_unless_configured()
    {
        var standard = RetentionPolicy.Standard;
        Assert.True(standard.RuleFor("data", "a/b").KeepsEverything);
        Assert.True(standard.RuleFor("acc", "").KeepsEverything);
        Assert.Equal(new RetentionRule(1, 86_400), standard.RuleFor("subs", "lobby"));
        Assert.Equal(new RetentionRule(1, null), standard.RuleFor("stats", "data/GET"));
        Assert.Equal(new RetentionRule(1, 7 * 86_400), standard.RuleFor("sess", ""));

        var configured = RetentionPolicy.Create(RetentionRule.KeepEverything,
            [new LayerRetention("subs", new RetentionRule(3, null), []), new LayerRetention("stats", null, [("x", new RetentionRule(2, null))])], out _)!;
        Assert.Equal(new RetentionRule(3, null), configured.RuleFor("subs", "lobby"));
        // Paths alone keep the layer's built-in rule elsewhere.
        Assert.Equal(new RetentionRule(1, null), configured.RuleFor("stats", "y"));
        Assert.Equal(new RetentionRule(2, null), configured.RuleFor("stats", "x/y"));
    }

    [Fact]
    public void Invalid_rules_are_refused_each_with_its_reason()
    {
        var policy = RetentionPolicy.Create(new RetentionRule(0, null),
        [
            new LayerRetention("data", new RetentionRule(null, 0), [("", new RetentionRule(1, null)), ("a//b", new RetentionRule(1, null)), ("a", new RetentionRule(-1, null)),
                ("b", new RetentionRule(1, null)), ("b/", new RetentionRule(2, null))]),
            new LayerRetention("bad layer!", new RetentionRule(1, null), []),
            new LayerRetention("cfg", new RetentionRule(1, RetentionRule.MaxAgeSecondsLimit + 1), []),
        ], out var problems);
        Assert.Null(policy);
        Assert.Equal(
        [
            "Default: MaxVersions must be at least 1",
            $"Layers:data: MaxAgeSeconds must be from 1 to {RetentionRule.MaxAgeSecondsLimit}",
            "Layers:data: path prefix \"\" is not a path",
            "Layers:data: path prefix \"a//b\" is not a path",
            "Layers:data: path \"a\": MaxVersions must be at least 1",
            "Layers:data: path \"b/\" is given twice",
            "Layers:bad layer!: not a layer name",
            $"Layers:cfg: MaxAgeSeconds must be from 1 to {RetentionRule.MaxAgeSecondsLimit}",
        ], problems);
    }
}
