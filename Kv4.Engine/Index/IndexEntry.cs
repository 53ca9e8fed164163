using Kv4.Engine.Model;

namespace Kv4.Engine.Index;

/// <summary>
/// The latest version of one key, as memory keeps it. Immutable: a write publishes a new entry object
/// in place of the old one, so a lock-free reader sees either the old or the new version, never a mix.
/// A tombstone (<see cref="Value"/> null) stays in the index so the key's history stays reachable; it is
/// invisible to reads, listings and counts. Older versions are not here: they are in the log, reached
/// through <see cref="LogAddress"/> and each record's previous address.
/// Size: 16 header + 5 fields × 8 = 56 bytes, plus the value array (24 bytes header). Entries with
/// secondary keys are a subclass (+24 bytes), so the common entry does not pay for them.
/// </summary>
internal class IndexEntry
{
    private IndexEntry(byte[]? value, long version, long timestampMs, string actor, long logAddress)
    {
        Value = value;
        Version = version;
        TimestampMs = timestampMs;
        Actor = actor;
        LogAddress = logAddress;
    }

    public static IndexEntry Create(byte[]? value, long version, long timestampMs, string actor, long logAddress, SecondaryKeys secondaryKeys) =>
        secondaryKeys.IsEmpty
            ? new IndexEntry(value, version, timestampMs, actor, logAddress)
            : new WithSecondaryKeys(value, version, timestampMs, actor, logAddress, secondaryKeys);

    /// <summary>Compact UTF-8 JSON of the latest version; null when the latest version is a delete.</summary>
    public byte[]? Value { get; }
    /// <summary>The store-wide sequence of the write that made this version (= its <see cref="VersionId"/>).</summary>
    public long Version { get; }
    public long TimestampMs { get; }
    public string Actor { get; }
    /// <summary>Where the record of this version starts in the log: the head of the key's version chain.</summary>
    public long LogAddress { get; }
    /// <summary>The secondary keys of this version (empty for most entries).</summary>
    public virtual SecondaryKeys SecondaryKeys => default;

    public bool IsLive => Value is not null;

    public StoredValue ToStoredValue() => new(Value, new VersionId(Version), TimestampMs, Actor);

    private sealed class WithSecondaryKeys(byte[]? value, long version, long timestampMs, string actor, long logAddress, SecondaryKeys secondaryKeys)
        : IndexEntry(value, version, timestampMs, actor, logAddress)
    {
        public override SecondaryKeys SecondaryKeys { get; } = secondaryKeys;
    }
}
