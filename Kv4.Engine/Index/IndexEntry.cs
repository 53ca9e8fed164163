using Kv4.Engine.Model;

namespace Kv4.Engine.Index;

/// <summary>
/// The latest version of one key, as memory keeps it. Immutable: a write publishes a new entry object
/// in place of the old one, so a lock-free reader sees either the old or the new version, never a mix.
/// A tombstone (<see cref="Value"/> null) stays in the index so the key's history stays reachable; it is
/// invisible to reads, listings and counts. Older versions are not here: they are in the log, reached
/// through <see cref="LogAddress"/> and each record's previous address.
/// Size: 16 header + 6 fields × 8 = 64 bytes, plus the value array (24 bytes header). Entries with
/// secondary keys are a subclass (+24 bytes), so the common entry does not pay for them.
///
/// With durable reads a reader must not see a version before its record is committed, so a new entry keeps the
/// one it replaced in <see cref="Previous"/> until the commit that covers it; the store's commit hook then lets go
/// (<see cref="ForgetPrevious"/>), so an older value is held only for one commit. Example, key k in sync mode:
/// <code>
///   put v1 @100, committed             index: k → e1(@100)                      a read sees e1
///   put v2 @200 (commit running)        index: k → e2(@200, previous e1)         a read skips e2, sees e1
///   commit reaches 300                  index: k → e2(@200)                      a read sees e2
/// </code>
/// </summary>
internal class IndexEntry
{
    private IndexEntry? previous;

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
    /// <summary>The <see cref="VersionId"/> value of the write that made this version.</summary>
    public long Version { get; }
    public long TimestampMs { get; }
    public string Actor { get; }
    /// <summary>Where the record of this version starts in the log: the head of the key's version chain.</summary>
    public long LogAddress { get; }
    /// <summary>The secondary keys of this version (empty for most entries).</summary>
    public virtual SecondaryKeys SecondaryKeys => default;

    public bool IsLive => Value is not null;

    /// <summary>With durable reads: the entry this one replaced, until this one's record is committed; else null.</summary>
    public IndexEntry? Previous => Volatile.Read(ref previous);

    /// <summary>The writer, before publishing this entry: readers fall back to <paramref name="replaced"/> until it is durable.</summary>
    public void KeepPrevious(IndexEntry? replaced) => previous = replaced;

    /// <summary>The commit hook, once this entry's record is durable.</summary>
    public void ForgetPrevious() => Volatile.Write(ref previous, null);

    public StoredValue ToStoredValue() => new(Value, new VersionId(Version), TimestampMs, Actor);

    private sealed class WithSecondaryKeys(byte[]? value, long version, long timestampMs, string actor, long logAddress, SecondaryKeys secondaryKeys)
        : IndexEntry(value, version, timestampMs, actor, logAddress)
    {
        public override SecondaryKeys SecondaryKeys { get; } = secondaryKeys;
    }
}
