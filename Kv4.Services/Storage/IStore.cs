namespace Kv4.Services.Storage;

/// <summary>
/// The privileged way to storage: any bucket's view, the list of buckets, dropping a bucket. Only the parts that work
/// across buckets take it — accounts (records live in `$sys` and the parent's bucket), sessions (a refresh token names
/// its bucket), presence (a node's own entries everywhere), the deny list (loaded for every bucket), stats (flushed per
/// recording bucket). A service answering a request uses the request's own view, scoped to the caller's bucket.
/// <code>
///   request.Store                 → IBucketView of the caller's bucket ("elena"), nothing else reachable
///   store.Bucket("$sys")          → the account records (AccountDirectory)
///   store.DeleteBucketAsync("elena#lily", ...) → deleting a sub-account (AccountsService, `$sys` or its parent only)
/// </code>
/// </summary>
public interface IStore
{
    IBucketView Bucket(string bucket);

    /// <summary>Buckets that hold live entries, sorted; with a prefix only those that start with it.</summary>
    ValueTask<IReadOnlyList<string>> ListBucketsAsync(string prefix = "", CancellationToken cancellationToken = default);

    /// <summary>
    /// Raised when a layer that every node keeps in memory (the deny rules, `auth`) changed through another node, with
    /// the bucket and the layer: a single node's store never raises it; a cluster's does when told.
    /// </summary>
    event Action<string, string>? ChangedElsewhere;

    /// <summary>Drops every entry of the bucket (its histories go with it); answers how many live entries it held.</summary>
    ValueTask<long> DeleteBucketAsync(string bucket, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes an online backup of everything stored (docs/operations.md, "Backups"; the format is
    /// <see cref="Kv4.Engine.Backups.BackupFile"/>) while writes go on.
    /// </summary>
    ValueTask<Kv4.Engine.Backups.BackupSummary> WriteBackupAsync(Stream output, CancellationToken cancellationToken = default);
}
