namespace Kv4.Engine.Model;

/// <summary>One version of an entry, read back from the log. <see cref="Value"/> is null for a delete.</summary>
public sealed record HistoryEntry(
    string Key,
    long TimestampMs,
    string Actor,
    Operation Op,
    ReadOnlyMemory<byte>? Value,
    VersionId Version)
{
    /// <summary>Where this version is in the log: pass it back to continue the history after it.</summary>
    public HistoryPosition Position { get; init; }
}
