namespace Kv4.Engine.Rules;

/// <summary>Every way the engine refuses a request. The server maps each to one contract error code.</summary>
public enum EngineError
{
    BadBucket,
    BadLayer,
    BadPath,
    BadKey,
    BadJson,
    ValueTooLarge,
    VersionConflict,
    NotFound,
    Exists,
    /// <summary>A k2..k4 value is already used by another key at the same (bucket, layer, path).</summary>
    SecondaryKeyTaken,
    /// <summary>A change-feed reader asked to start before the oldest retained sequence (<see cref="FeedTruncatedException"/>).</summary>
    FeedTruncated,
    /// <summary>A change-feed cursor that is not one of this store's (malformed, or for another partition count).</summary>
    BadCursor,
    Closed,
    /// <summary>A replicated store: this node does not order the partition's writes (it is a backup, or holds no copy).</summary>
    NotPrimary,
    /// <summary>A replicated record that is not the next of its partition here (a gap, or another history).</summary>
    OutOfOrder,
    /// <summary>A cluster could not serve the call now (no primary for the partition, no quorum, or a write whose outcome is unknown).</summary>
    Unavailable,
    /// <summary>A read as of an instant before the key's oldest retained version (<see cref="HistoryTruncatedException"/>).</summary>
    HistoryTruncated,
}
