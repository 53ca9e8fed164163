namespace Kv4.Engine.Retention;

/// <summary>A layer's configured retention: its own rule (null: built-in or default) and rules per path prefix.</summary>
public sealed record LayerRetention(string Layer, RetentionRule? Rule, IReadOnlyList<(string Prefix, RetentionRule Rule)> Paths);
