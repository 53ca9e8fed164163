
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
            var store = Kv4Store.Open(new StoreOptions
            {
                DataDirectory = staging,
                Durability = DurabilityMode.Interval,
                PartitionCount = options.PartitionCount,
                MaxValueBytes = options.MaxValueBytes,
                LogSegmentSizeMB = options.LogSegmentSizeMB,
                LogMemorySizeBits = options.LogMemorySizeBits,
                CheckpointEveryRecords = options.CheckpointEveryRecords,
                Clock = options.Clock,
            });
            await using (store.ConfigureAwait(false))
            {
                await foreach (var record in reader.ReadRecordsAsync(cancellationToken).ConfigureAwait(false))
                    store.AppendRestored(record);
            }
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
}
