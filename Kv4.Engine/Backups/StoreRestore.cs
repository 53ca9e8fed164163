
using System.Buffers;
using Kv4.Engine.Compaction;
using Kv4.Engine.Log;

namespace Kv4.Engine.Backups;

/// <summary>
/// Rebuilds a data directory from a backup. The store is built in a directory beside the target and moved into place
/// only once every record is in and the store closed cleanly (checkpoint written), so a restore that fails — a damaged
/// or cut backup, a full disk — leaves the target as it was: absent or empty.
/// </summary>
public static class StoreRestore
{
    /// <summary>
    /// Restores the backup read from <paramref name="input"/> into <paramref name="options"/>' data directory, which
    /// must not exist or be empty; the store's partition count must be the backup's.
    /// </summary>
    public static async Task<BackupSummary> RestoreAsync(Stream input, StoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.DataDirectory));
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new BackupException($"{target} is not empty: a backup is restored into an empty or new data directory");
        if (File.Exists(target)) throw new BackupException($"{target} is a file");

        var reader = await BackupReader.OpenAsync(input, cancellationToken).ConfigureAwait(false);
        if (reader.PartitionCount != options.PartitionCount)
            throw new BackupException($"the backup is of a store of {reader.PartitionCount} partitions; this one has {options.PartitionCount}");
        var staging = $"{target}.restoring-{Guid.NewGuid():N}";
        try
        {
            var restored = new StoreOptions
            {
                DataDirectory = staging,
                Durability = DurabilityMode.Interval,
                PartitionCount = options.PartitionCount,
                MaxValueBytes = options.MaxValueBytes,
                LogSegmentSizeMB = options.LogSegmentSizeMB,
                LogMemorySizeBits = options.LogMemorySizeBits,
                CheckpointEveryRecords = options.CheckpointEveryRecords,
                Clock = options.Clock,
            };
            if (reader.Order == BackupOrder.Log) await WriteLogAsync(reader, restored, cancellationToken).ConfigureAwait(false);
            var store = Kv4Store.Open(restored);
            var rebased = false;
            await using (store.ConfigureAwait(false))
            {
                if (reader.Order == BackupOrder.Partitions)
                    await foreach (var (_, record) in reader.ReadRecordsAsync(cancellationToken).ConfigureAwait(false))
                        store.AppendRestored(record);
                // The open rebuilt the index from the records (log order) or they were appended one by one: either way each
                // partition must now end where the backup was cut, or records were missing or out of order.
                if (store.OpenedWith.Damaged is not null || store.CurrentCursor().ToString() != reader.Cursor)
                    throw new BackupException("the backup's records do not rebuild the state it was cut at (missing or out of order): damaged");
                rebased = Enumerable.Range(0, store.PartitionCount).Any(p => store.HistoryStartSequence(p) > 0);
            }
            // A compacted cluster's partitions came as retained versions: what was reclaimed there predates the backup.
            if (reader.Order == BackupOrder.Partitions && rebased)
                new CompactionHorizon(0, [], new Dictionary<long, long>(), reader.TakenAtMs).Write(staging);
            var summary = new BackupSummary(reader.PartitionCount, reader.Cursor, reader.TakenAtMs, reader.Records, input.CanSeek ? input.Length : -1);
            if (Directory.Exists(target)) Directory.Delete(target);
            Directory.Move(staging, target);
            return summary;
        }
        catch
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); }
            catch (IOException) { /* the first failure is the one to report */ }
            throw;
        }
    }

    /// <summary>
    /// A backup in log order: its records written into a new log in the same order, each chain pointer moved to where
    /// the record it points to was written (a pointer to a record not before it in the backup is damage). The store's
    /// open then rebuilds the index from them, with the checks every open makes.
    /// </summary>
    private static async Task WriteLogAsync(BackupReader reader, StoreOptions options, CancellationToken cancellationToken)
    {
        using var log = RecordLog.Open(options.DataDirectory, options.MaxValueBytes, options.LogMemorySizeBits, options.LogSegmentSizeMB);
        var truncated = reader.FirstVersions.Length > 0;
        if (truncated && log.BeginAddress <= BackupFile.TruncatedPointer) throw new InvalidOperationException("a log begins at an address a pointer may name");
        var moved = new Dictionary<long, long>();
        var buffer = new ArrayBufferWriter<byte>(4096);
        await foreach (var (address, record) in reader.ReadRecordsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (record.PreviousAddress != 0 && !(truncated && record.PreviousAddress == BackupFile.TruncatedPointer))
            {
                if (!moved.TryGetValue(record.PreviousAddress, out var previous))
                    throw new BackupException($"record {reader.Records} points to a record that is not before it in the backup: damaged");
                record.PreviousAddress = previous;
            }
            record.WriteFramed(buffer);
            moved[address] = log.Append(buffer.WrittenSpan);
        }
        await log.CommitAsync(cancellationToken).ConfigureAwait(false);
        // Where the history ends: below the new log's head, as compaction left it, so the open starts each partition after
        // its first version and a read into the reclaimed history is told so.
        // Whatever the source reclaimed was stamped before the backup was taken.
        if (truncated) new CompactionHorizon(log.BeginAddress, reader.FirstVersions, new Dictionary<long, long>(), reader.TakenAtMs).Write(options.DataDirectory);
    }
}
