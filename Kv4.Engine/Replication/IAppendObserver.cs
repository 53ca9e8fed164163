namespace Kv4.Engine.Replication;

/// <summary>
/// What a replicated store tells the node that replicates it. Both run on the engine's hot paths: copy what is needed
/// and return.
/// </summary>
public interface IAppendObserver
{
    /// <summary>
    /// Under the partition's lane, in sequence order: a record was appended. <paramref name="framedRecord"/> is valid
    /// only during the call (it is the bytes the log got: a backup appends exactly these).
    /// </summary>
    void Appended(int partition, long partitionSequence, long version, ReadOnlySpan<byte> framedRecord);

    /// <summary>After each log commit: <see cref="StoreReplication.DurableVersion"/> may have moved.</summary>
    void Committed();
}
