namespace Kv4.Engine.Model;

/// <summary>What a log record did. Stored in every record, so the numbers are part of the on-disk format.</summary>
public enum Operation : byte
{
    Put = 1,
    Delete = 2,
    /// <summary>The whole bucket was dropped (an account was deleted); layer, path and key are empty.</summary>
    DropBucket = 3,
    /// <summary>
    /// A replicated store's bucket drop, one per partition: the bucket's entries of this record's partition leave the
    /// index (each partition's stream carries its own, so a replica of one partition needs no other stream).
    /// </summary>
    DropBucketPart = 4,
    /// <summary>
    /// Not a version: the partition's records after <c>PartitionSequence</c> written before this record are void (a
    /// replica dropping what its old primary never got acknowledged). Never leaves the node that wrote it.
    /// </summary>
    Truncate = 5,
    /// <summary>
    /// Not a version: the partition goes on after <c>PartitionSequence</c>, in the epochs its value lists, and nothing of
    /// its history before that is here but the carries written since its last <see cref="Truncate"/> (a replica that
    /// took a compacted primary's retained versions instead of records the primary no longer has; see
    /// Kv4Store.Rebase.cs). Never leaves the node that wrote it.
    /// </summary>
    Rebase = 6,
}
