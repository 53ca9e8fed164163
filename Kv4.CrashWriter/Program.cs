using System.Globalization;
using System.Text;
using Kv4.Engine;
using Kv4.Engine.Model;

// Usage: Kv4.CrashWriter <data directory> <round> <writers> [sync|interval]
// Opens the store with sync (default) or interval durability and lets <writers> tasks write until the process is killed.
// Each task writes one write at a time. Its n-th write goes to a key of its own, "w<t>-k<n % 8>", or, every
// third write, to a key all tasks share, "s<n % 4>", so shared keys get versions from racing writers. Each key is
// at its own path, "acks/<key>", so the writes spread over the partitions and their lanes run side by side.
// A line "ack <key> <version> <partition> <partition sequence> <round> <task> <n>" is printed only after
// PutAsync has returned, i.e. after the engine acknowledged the write as durable; the parent treats
// every complete line it reads as a promise the store must keep after SIGKILL. In interval mode task 0 flushes the
// store once, after its 200th write, and then prints "flushed": everything acknowledged before that line is durable,
// so the parent can kill at a point where the log has commits behind it and writes in flight.
if (args.Length is not (3 or 4))
{
    Console.Error.WriteLine("usage: Kv4.CrashWriter <data directory> <round> <writers> [sync|interval]");
    return 2;
}
var directory = args[0];
var round = int.Parse(args[1], CultureInfo.InvariantCulture);
var writers = int.Parse(args[2], CultureInfo.InvariantCulture);

var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
var printLock = new object();

var durability = args.Length == 4 && args[3] == "interval" ? DurabilityMode.Interval : DurabilityMode.Sync;

var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory, Durability = durability });
lock (printLock) stdout.Write("open\n");

var tasks = Enumerable.Range(0, writers).Select(t => Task.Run(async () =>
{
    for (var n = 0; ; n++)
    {
        var key = KeyOf(t, n);
        var json = Encoding.UTF8.GetBytes($"{{\"round\":{round},\"task\":{t},\"n\":{n}}}");
        var result = await store.PutAsync(new EntryAddress("crash", "data", "acks/" + key, "v"), json, $"writer-{t}");
        var line = $"ack {key} {result.Version.Value} {result.Partition} {result.PartitionSequence} {round} {t} {n}\n";
        lock (printLock) stdout.Write(line);
        if (t == 0 && n == 200 && durability == DurabilityMode.Interval)
        {
            await store.FlushAsync();
            lock (printLock) stdout.Write("flushed\n");
        }
    }
})).ToArray();

await Task.WhenAll(tasks); // never completes: the parent kills this process
return 0;

/// <summary>The key task t writes in its n-th write; CrashTests uses the same rule to check every version it finds.</summary>
static string KeyOf(int task, int n) => n % 3 == 2 ? $"s{n % 4}" : $"w{task}-k{n % 8}";
