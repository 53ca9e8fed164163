namespace Kv4.Engine.Model;

/// <summary>
/// A precondition checked atomically with a write. <see cref="IfVersion"/> is compare-and-set:
/// it fails with <see cref="Rules.EngineError.NotFound"/> when the entry is absent (or deleted) and
/// <see cref="Rules.EngineError.VersionConflict"/> when the entry has moved on.
/// <see cref="IfAbsent"/> fails with <see cref="Rules.EngineError.Exists"/> when a live entry is there.
/// </summary>
public readonly record struct WriteCondition(WriteConditionKind Kind, VersionId Expected)
{
    public static readonly WriteCondition None = default;
    public static readonly WriteCondition IfAbsent = new(WriteConditionKind.IfAbsent, VersionId.None);
    public static WriteCondition IfVersion(VersionId expected) => new(WriteConditionKind.IfVersion, expected);
}

public enum WriteConditionKind
{
    None = 0,
    IfVersion = 1,
    IfAbsent = 2,
}
