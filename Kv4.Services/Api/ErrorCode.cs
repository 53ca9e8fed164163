namespace Kv4.Services.Api;

/// <summary>The contract's error codes (http-api.md §3 Replies and errors). <see cref="ErrorCodes"/> gives each its wire name and HTTP status.</summary>
public enum ErrorCode
{
    BadPath,
    BadKey,
    BadJson,
    BadParam,
    RequireAccountDetails,
    BadEmail,
    RequireTypeParam,
    UnrecognizedTypeParam,
    VerMissing,
    Unauthorized,
    Forbidden,
    NotFound,
    UnknownService,
    NoNamespace,
    MethodNotAllowed,
    RequestTimeout,
    VersionConflict,
    Exists,
    UsernameIsImmutable,
    EmailIsImmutable,
    ValueTooLarge,
    RateLimited,
    NoServiceHost,
    Unavailable,
    /// <summary>A cluster operation on a server that is not part of a cluster (a Kv4 addition, see docs/cluster.md).</summary>
    NotClustered,
    /// <summary>A watch resuming from a cursor before the compaction horizon: events after it were reclaimed (a Kv4 addition).</summary>
    FeedTruncated,
    /// <summary>A read as of an instant before the key's oldest retained version (a Kv4 addition).</summary>
    HistoryTruncated,
}
