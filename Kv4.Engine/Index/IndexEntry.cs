using System.Runtime.CompilerServices;
using Kv4.Engine.Model;

namespace Kv4.Engine.Index;

/// <summary>
/// The latest version of one key, as memory keeps it. Immutable: a write publishes a new entry object
/// in place of the old one, so a lock-free reader sees either the old or the new version, never a mix.
/// A tombstone (<see cref="Value"/> null) stays in the index so the key's history stays reachable; it is
/// invisible to reads, listings and counts. Older versions are not here: they are in the log, reached
/// through <see cref="LogAddress"/> and each record's previous address.
/// Size: 16 header + 6 references/longs = 64 bytes, plus the value array (24 bytes header).
/// </summary>
internal sealed class IndexEntry(byte[]? value, long version, long timestampMs, string actor, long logAddress, StrongBox<SecondaryKeys>? secondaryKeys)
{
    /// <summary>Compact UTF-8 JSON of the latest version; null when the latest version is a delete.</summary>
    public byte[]? Value { get; } = value;
    /// <summary>The store-wide sequence of the write that made this version (= its <see cref="VersionId"/>).</summary>
    public long Version { get; } = version;
    public long TimestampMs { get; } = timestampMs;
    public string Actor { get; } = actor;
    /// <summary>Where the record of this version starts in the log: the head of the key's version chain.</summary>
    public long LogAddress { get; } = logAddress;
    /// <summary>Null when the version carries no secondary keys (the common case costs one reference).</summary>
    public StrongBox<SecondaryKeys>? SecondaryKeys { get; } = secondaryKeys;

    public bool IsLive => Value is not null;

    public StoredValue ToStoredValue() => new(Value, new VersionId(Version), TimestampMs, Actor);

    public static StrongBox<SecondaryKeys>? Box(SecondaryKeys keys) => keys.IsEmpty ? null : new StrongBox<SecondaryKeys>(keys);
}
