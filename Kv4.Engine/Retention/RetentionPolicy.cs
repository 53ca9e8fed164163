using Kv4.Engine.Rules;

namespace Kv4.Engine.Retention;

/// <summary>
/// The retention rules of a store: a default, a rule per layer, and rules per path prefix inside a layer (whole
/// segments: prefix "rooms" covers "rooms" and "rooms/a", not "roomsx"); the most specific one applies. Layers the
/// platform writes all the time have bounded rules of their own (<see cref="BuiltIn"/>) unless configured; every
/// other layer, user data included, keeps everything unless configured. Example, with Default MaxVersions=100,
/// Layers:data MaxAgeSeconds=86400 and Layers:data Paths "rooms/logs" MaxVersions=5:
/// <code>
///   RuleFor("data", "rooms/logs/today") → the last 5            RuleFor("data", "rooms")  → newer than 86400 s
///   RuleFor("cfg", "x")                 → the last 100          RuleFor("subs", "lobby")  → the built-in presence rule
/// </code>
/// </summary>
public sealed class RetentionPolicy
{
    /// <summary>
    /// The platform's churn: presence (`subs`: joins and leaves of every signal connection) keeps the latest and a day;
    /// sessions (`sess`) the latest and a week; stats rollups (`stats`: one key per hour, rewritten at every flush, the
    /// latest holding the whole hour) only the latest.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, RetentionRule> BuiltIn = new Dictionary<string, RetentionRule>(StringComparer.Ordinal)
    {
        ["subs"] = new(1, 86_400),
        ["sess"] = new(1, 7 * 86_400),
        ["stats"] = new(1, null),
    };

    private readonly Dictionary<string, LayerRules> layers;

    private RetentionPolicy(RetentionRule defaultRule, Dictionary<string, LayerRules> layers)
    {
        Default = defaultRule;
        this.layers = layers;
    }

    public RetentionRule Default { get; }

    /// <summary>The policy with no configuration: user data keeps everything, the platform's layers their built-in rules.</summary>
    public static RetentionPolicy Standard { get; } = Create(RetentionRule.KeepEverything, [], out _)!;

    /// <summary>
    /// A policy from configured rules; null with the problems when any rule, layer or prefix is invalid (a layer's rule
    /// null: the layer's built-in rule, else the default).
    /// </summary>
    public static RetentionPolicy? Create(RetentionRule defaultRule, IEnumerable<LayerRetention> layers, out IReadOnlyList<string> problems)
    {
        var found = new List<string>();
        if (defaultRule.Problem is { } p) found.Add($"Default: {p}");
        var byLayer = new Dictionary<string, LayerRules>(StringComparer.Ordinal);
        foreach (var (layer, rule) in BuiltIn) byLayer[layer] = new LayerRules(rule, []);
        foreach (var layer in layers)
        {
            if (!AddressRules.IsValidLayer(layer.Layer))
            {
                found.Add($"Layers:{layer.Layer}: not a layer name");
                continue;
            }
            if (layer.Rule?.Problem is { } lp) found.Add($"Layers:{layer.Layer}: {lp}");
            var paths = new List<(string Prefix, RetentionRule Rule)>();
            foreach (var (prefix, rule) in layer.Paths)
            {
                if (!AddressRules.TryNormalizePath(prefix ?? "", out var normalized) || normalized.Length == 0)
                    found.Add($"Layers:{layer.Layer}: path prefix \"{prefix}\" is not a path");
                else if (rule.Problem is { } pp) found.Add($"Layers:{layer.Layer}: path \"{prefix}\": {pp}");
                else if (paths.Any(x => x.Prefix == normalized)) found.Add($"Layers:{layer.Layer}: path \"{prefix}\" is given twice");
                else paths.Add((normalized, rule));
            }
            // Longest first: the first prefix that covers a path is the most specific.
            paths.Sort(static (a, b) => b.Prefix.Length.CompareTo(a.Prefix.Length));
            var layerRule = layer.Rule ?? (BuiltIn.TryGetValue(layer.Layer, out var builtIn) ? builtIn : (RetentionRule?)null);
            byLayer[layer.Layer] = new LayerRules(layerRule, paths);
        }
        problems = found;
        return found.Count == 0 ? new RetentionPolicy(defaultRule, byLayer) : null;
    }

    /// <summary>The rule of a path of a layer: its longest configured prefix, else the layer's rule, else the default.</summary>
    public RetentionRule RuleFor(string layer, string path)
    {
        if (!layers.TryGetValue(layer, out var rules)) return Default;
        foreach (var (prefix, rule) in rules.Paths)
            if (path.Length == prefix.Length ? path == prefix
                    : path.Length > prefix.Length && path[prefix.Length] == '/' && path.StartsWith(prefix, StringComparison.Ordinal))
                return rule;
        return rules.Rule ?? Default;
    }

    private sealed record LayerRules(RetentionRule? Rule, List<(string Prefix, RetentionRule Rule)> Paths);
}
