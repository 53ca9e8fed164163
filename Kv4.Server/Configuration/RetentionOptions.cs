using Kv4.Engine.Retention;

namespace Kv4.Server.Configuration;

/// <summary>
/// `Kv4:Retention`: which versions are kept (see <see cref="RetentionPolicy"/> and docs/operations.md). Example:
/// <code>
///   --Kv4:Retention:Default:MaxVersions=100
///   --Kv4:Retention:Layers:data:MaxAgeSeconds=86400
///   --Kv4:Retention:Layers:data:Paths:0:Prefix=rooms/logs  --Kv4:Retention:Layers:data:Paths:0:MaxVersions=5
/// </code>
/// Invalid rules stop the start (<see cref="Problems"/>).
/// </summary>
public sealed class RetentionOptions
{
    public RetentionRuleOptions Default { get; set; } = new();

    public Dictionary<string, LayerRetentionOptions> Layers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The policy these options give; null with <paramref name="problems"/> when any rule is invalid.</summary>
    public RetentionPolicy? ToPolicy(out IReadOnlyList<string> problems) =>
        RetentionPolicy.Create(Default.ToRule(),
            Layers.Select(l => new LayerRetention(l.Key, l.Value.IsSet ? l.Value.ToRule() : null,
                [.. l.Value.Paths.Select(p => (p.Prefix ?? "", p.ToRule()))])),
            out problems);

    public IReadOnlyList<string> Problems
    {
        get
        {
            ToPolicy(out var problems);
            return problems;
        }
    }
}

public class RetentionRuleOptions
{
    public int? MaxVersions { get; set; }

    public long? MaxAgeSeconds { get; set; }

    public bool IsSet => MaxVersions is not null || MaxAgeSeconds is not null;

    public RetentionRule ToRule() => new(MaxVersions, MaxAgeSeconds);
}

public sealed class LayerRetentionOptions : RetentionRuleOptions
{
    public List<PathRetentionOptions> Paths { get; set; } = [];
}

public sealed class PathRetentionOptions : RetentionRuleOptions
{
    public string? Prefix { get; set; }
}
