using System.Diagnostics;
using System.Globalization;
using System.Text;
using Kv4.Engine;
using Kv4.Engine.Index;
using Kv4.Engine.Model;

namespace Kv4.Benchmarks.Engine;

/// <summary>
/// The engine's two budget figures, measured directly rather than through BenchmarkDotNet:
/// <code>
///   dotnet run -c Release --project Kv4.Benchmarks -- --measure-memory [--keys 1000000]
///   dotnet run -c Release --project Kv4.Benchmarks -- --measure-reopen [--keys 1000000]
///   dotnet run -c Release --project Kv4.Benchmarks -- --measure-backup [--keys 1000000]
/// </code>
/// Memory: index overhead per live key beyond the key's and value's own bytes (UTF-8 key length +
/// value length), from GC.GetTotalMemory around building the index; then the same for a whole store
/// filled through the public API (which adds the FasterLog page buffer). Reopen: wall time of
/// Kv4Store.Open from a checkpoint alone, from a checkpoint plus a tail of records, and from the log alone. Backup: an
/// online backup of the store to a file and its restore into a new directory, against the peer an operator would use
/// instead, a copy of the stopped store's files.
/// The workload: N keys spread over N/1000 paths "app/node/{i/1000}", keys "key-{i}", a ~30-byte JSON value.
/// </summary>
internal static class EngineMeasurements
{
    public static bool TryRun(string[] args)
    {
        var memory = args.Contains("--measure-memory");
        var reopen = args.Contains("--measure-reopen");
        var backup = args.Contains("--measure-backup");
        if (!memory && !reopen && !backup) return false;
        var keys = 1_000_000;
        var at = Array.IndexOf(args, "--keys");
        if (at >= 0 && at + 1 < args.Length) keys = int.Parse(args[at + 1], CultureInfo.InvariantCulture);
        if (memory) MeasureMemory(keys);
        if (reopen) MeasureReopen(keys).GetAwaiter().GetResult();
        if (backup) MeasureBackup(keys).GetAwaiter().GetResult();
        return true;
    }

    private static string PathOf(int i) => "app/node/" + (i / 1000).ToString(CultureInfo.InvariantCulture);
    private static string KeyOf(int i) => "key-" + i.ToString(CultureInfo.InvariantCulture);
    private static byte[] ValueOf(int i) => Encoding.UTF8.GetBytes($"{{\"n\":{i},\"s\":\"abcdefgh\"}}");

    private static void MeasureMemory(int keys)
    {
        Console.WriteLine($"# Index memory, {keys:N0} live keys in {keys / 1000:N0} paths");
        long ownBytes = 0;
        var before = Settle();
        var index = new StoreIndex();
        for (var i = 0; i < keys; i++)
        {
            var key = KeyOf(i);
            var value = ValueOf(i);
            ownBytes += Encoding.UTF8.GetByteCount(key) + value.Length;
            index.Set("bucket", "data", PathOf(i), key,
                IndexEntry.Create(value, i + 1, 1_700_000_000_000 + i, index.InternActor("elena"), 64 + 100L * i, default), maintainDerived: true);
        }
        var after = Settle();
        Report("index only (StoreIndex)", keys, after - before, ownBytes);
        GC.KeepAlive(index);
        index = null;

        var directory = Path.Combine(Path.GetTempPath(), "kv4-measure-memory-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory, CheckpointEveryRecords = long.MaxValue });
            var empty = Settle();
            for (var i = 0; i < keys; i++)
                store.PutAsync(new EntryAddress("bucket", "data", PathOf(i), KeyOf(i)), ValueOf(i), "elena").AsTask().GetAwaiter().GetResult();
            store.FlushAsync().AsTask().GetAwaiter().GetResult();
            var full = Settle();
            Report($"whole store via PutAsync (includes FasterLog's 2^{store.Options.LogMemorySizeBits}-byte page buffer)", keys, full - empty, ownBytes);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Report(string what, int keys, long bytes, long ownBytes)
    {
        var perKey = (double)bytes / keys;
        var own = (double)ownBytes / keys;
        Console.WriteLine($"{what}: {bytes / 1048576.0:F1} MiB managed = {perKey:F1} B/key; key+value {own:F1} B/key; overhead {perKey - own:F1} B/key");
    }

    private static long Settle()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task MeasureReopen(int keys)
    {
        var tail = Math.Max(1, keys / 10);
        Console.WriteLine($"# Reopen time, {keys:N0} keys + a tail of {tail:N0} updates ({Environment.ProcessorCount} cores, load average {LoadAverage()})");
        var root = Path.Combine(Path.GetTempPath(), "kv4-measure-reopen-" + Guid.NewGuid().ToString("N"));
        var live = Path.Combine(root, "live");
        var withTail = Path.Combine(root, "checkpoint-plus-tail");
        var logOnly = Path.Combine(root, "log-only");
        try
        {
            await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = live, CheckpointEveryRecords = long.MaxValue }))
            {
                for (var i = 0; i < keys; i++)
                    await store.PutAsync(new EntryAddress("bucket", "data", PathOf(i), KeyOf(i)), ValueOf(i), "elena");
                await store.CheckpointAsync();
                for (var i = 0; i < tail; i++)
                    await store.PutAsync(new EntryAddress("bucket", "data", PathOf(i), KeyOf(i)), ValueOf(-i), "elena");
                await store.FlushAsync();
                // The files as a crash would leave them now: the checkpoint plus a tail to replay.
                Copy(live, withTail);
                Copy(live, logOnly);
                Directory.Delete(Path.Combine(logOnly, "checkpoints"), recursive: true);
            }
            await Time("checkpoint only (after a clean close)", live, keys);
            await Time($"checkpoint + {tail:N0} records of log", withTail, keys);
            await Time($"log only ({keys + tail:N0} records, no checkpoint)", logOnly, keys);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task Time(string what, string directory, int keys)
    {
        Settle();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory, CheckpointEveryRecords = long.MaxValue });
        var elapsed = clock.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var found = store.TryGetLatest(new EntryAddress("bucket", "data", PathOf(keys - 1), KeyOf(keys - 1)), out _);
        // CPU time is printed too: on a shared machine wall time mostly measures the neighbours.
        Console.WriteLine($"{what}: open {elapsed.TotalSeconds:F2} s wall, {cpu.TotalSeconds:F2} s CPU (replayed {store.OpenedWith.ReplayedRecords:N0} records, last key found: {found})");
        await store.DisposeAsync();
    }

    private static async Task MeasureBackup(int keys)
    {
        Console.WriteLine($"# Backup and restore, {keys:N0} keys written twice ({Environment.ProcessorCount} cores, load average {LoadAverage()})");
        var root = Path.Combine(Path.GetTempPath(), "kv4-measure-backup-" + Guid.NewGuid().ToString("N"));
        try
        {
            var live = Path.Combine(root, "live");
            await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = live }))
            {
                for (var round = 0; round < 2; round++)
                    for (var i = 0; i < keys; i++)
                        await store.PutAsync(new EntryAddress("bucket", "data", PathOf(i), KeyOf(i)), ValueOf(i * (round + 1)), "elena");
                await store.FlushAsync();
                var file = Path.Combine(root, "store.kv4backup");
                var clock = Stopwatch.StartNew();
                BackupSummaryLine("backup (online, to a file)", await WriteBackupAsync(store, file), clock.Elapsed, new FileInfo(file).Length);
            }
            var copyClock = Stopwatch.StartNew();
            Copy(live, Path.Combine(root, "copy"));
            var copied = Directory.GetFiles(Path.Combine(root, "copy"), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            var copyTime = copyClock.Elapsed;
            Console.WriteLine($"peer: copy of the stopped store's files: {copyTime.TotalSeconds:F2} s, {copied / 1048576.0:F1} MiB, {copied / 1048576.0 / copyTime.TotalSeconds:F0} MiB/s");

            var restoreClock = Stopwatch.StartNew();
            await using (var input = File.OpenRead(Path.Combine(root, "store.kv4backup")))
            {
                var summary = await Kv4.Engine.Backups.StoreRestore.RestoreAsync(input, new StoreOptions { DataDirectory = Path.Combine(root, "restored") });
                BackupSummaryLine("restore (into an empty directory, checkpoint written)", summary, restoreClock.Elapsed, input.Length);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<Kv4.Engine.Backups.BackupSummary> WriteBackupAsync(Kv4Store store, string file)
    {
        await using var output = File.Create(file);
        return await store.WriteBackupAsync(output);
    }

    private static void BackupSummaryLine(string what, Kv4.Engine.Backups.BackupSummary summary, TimeSpan elapsed, long bytes) =>
        Console.WriteLine($"{what}: {elapsed.TotalSeconds:F2} s, {summary.Records:N0} records ({summary.Records / elapsed.TotalSeconds:N0}/s), " +
            $"{bytes / 1048576.0:F1} MiB ({bytes / 1048576.0 / elapsed.TotalSeconds:F0} MiB/s)");

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            try { File.Copy(file, target); }
            catch (FileNotFoundException) { } // an outdated FasterLog commit file removed meanwhile
        }
    }
}
