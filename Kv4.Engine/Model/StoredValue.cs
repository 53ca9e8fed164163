namespace Kv4.Engine.Model;

/// <summary>
/// The latest value of a live entry, served from memory. <see cref="Json"/> is compact UTF-8 JSON
/// and is never mutated after it is published, so callers may write it out directly.
/// </summary>
public readonly record struct StoredValue(ReadOnlyMemory<byte> Json, VersionId Version, long TimestampMs, string Actor);
