namespace Kv4.Engine.Rules;

/// <summary>
/// A read as of an instant before a key's oldest retained version: its state then was reclaimed by compaction.
/// <see cref="OldestRetainedMs"/> (unix ms) is the horizon: the earliest instant the key can be read at.
/// </summary>
public sealed class HistoryTruncatedException(long oldestRetainedMs, string message) : EngineException(EngineError.HistoryTruncated, message)
{
    public long OldestRetainedMs { get; } = oldestRetainedMs;
}
