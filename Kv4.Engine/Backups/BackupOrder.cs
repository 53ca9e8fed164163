namespace Kv4.Engine.Backups;

/// <summary>How a backup's records are laid out, which decides how a restore rebuilds the store from them.</summary>
public enum BackupOrder : byte
{
    /// <summary>
    /// A single store's log, in its order, each record with the address it had: the restore writes them into a new log
    /// (each chain pointer moved to its record's new address) and rebuilds the index as an open does.
    /// </summary>
    Log = 0,

    /// <summary>
    /// Partition after partition, each in sequence order, without addresses (a cluster's partitions come from several
    /// logs): the restore appends each as the next version of its key.
    /// </summary>
    Partitions = 1,
}
