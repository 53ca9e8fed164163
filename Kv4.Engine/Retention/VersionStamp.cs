namespace Kv4.Engine.Retention;

/// <summary>What retention needs of one version of a key: when it was written and whether it is a delete.</summary>
public readonly record struct VersionStamp(long TimestampMs, bool IsTombstone);
