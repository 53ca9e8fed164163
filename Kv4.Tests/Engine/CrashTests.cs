using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// Sync durability survives SIGKILL. A child process (Kv4.CrashWriter) writes from several tasks with
/// <see cref="DurabilityMode.Sync"/> and prints each write only after the store acknowledged it. The test
/// kills the child with SIGKILL (no dispose, no flush, no finalizers: exactly what a power cut leaves of
/// the process, short of the OS page cache) at a point it does not choose relative to the writes, then
/// reopens the directory itself and requires every acknowledged write: its version is in the key's
/// history with its value, each task's writes in the order it made them (also on keys all tasks share),
/// versions strictly ordered, and the latest value is the newest version. Because an ack line can only exist after PutAsync returned, a missing one means the engine
/// acknowledged a write before it was durable. Writes that were in flight at the kill may or may not
/// be there, but never garbled: every version in a history must be one the writer really attempted,
/// and at most the one write per task that was in flight. Three rounds on one directory, so recovery
/// must also keep what earlier crashes left. Every key is at its own path, so the writers' lanes are many
/// partitions appending side by side; in each partition the sequences that survive are 1..n, never with a hole.
/// </summary>
[Trait("Category", "Integration")]
public class CrashTests
{
    private const int Writers = 6;
    private const int Rounds = 3;
    private const string Bucket = "crash", Layer = "data";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private sealed record Ack(string Key, long Version, int Partition, long PartitionSequence, int Round, int TaskId, int N);

    private static EntryAddress AddressOf(string key) => new(Bucket, Layer, "acks/" + key, "v");

    [Fact]
    public async Task Every_acknowledged_sync_write_survives_sigkill_over_several_rounds()
    {
        using var directory = new TempDirectory("crash");
        var acked = new List<Ack>();
        for (var round = 1; round <= Rounds; round++)
        {
            // Vary the kill point from round to round.
            var killAfter = 120 + 45 * round;
            var roundAcks = await RunWriterUntilKilledAsync(directory.Path, round, killAfter);
            Assert.True(roundAcks.Count >= killAfter, $"round {round}: only {roundAcks.Count} acks before the kill");
            acked.AddRange(roundAcks);
            await AssertAllAcknowledgedWritesAreThereAsync(directory.Path, acked, round);
        }
    }

    /// <summary>
    /// With interval durability a crash may lose the last commit window of acknowledged writes, but what it loses is
    /// a suffix of each partition, never a hole: in every partition the sequences that survive are exactly 1..n (the
    /// lane numbers its records 1, 2, 3... and recovery accepts only the next number), every acknowledged write of
    /// the partition up to n is there and none after it, and each task's surviving writes are its first ones.
    /// The round after a crash writes in a new epoch, so a version lost in a crash is never given to another write.
    /// </summary>
    [Fact]
    public async Task An_interval_crash_loses_at_most_a_suffix_of_each_partition_never_a_hole()
    {
        using var directory = new TempDirectory("crash-interval");
        var kept = new List<Ack>();
        for (var round = 1; round <= 2; round++)
        {
            var roundAcks = await RunWriterUntilKilledAsync(directory.Path, round, 150 + 60 * round, "interval");

            await using var store = Kv4Store.Open(new StoreOptions { DataDirectory = directory.Path });
            var versions = new List<(string Key, VersionId Version, (int Round, int Task, int N) Written)>();
            foreach (var key in AllKeys(store, roundAcks))
                foreach (var entry in await store.GetHistoryAsync(AddressOf(key), HistoryQuery.All with { Limit = int.MaxValue }))
                    versions.Add((key, entry.Version, Parse(entry, key)));

            var survivors = AssertEachPartitionIsWhole(store, versions.Select(v => (v.Key, v.Version)), round);
            var present = versions.Select(v => (v.Key, v.Version.Value)).ToHashSet();
            foreach (var ack in kept)
                Assert.True(present.Contains((ack.Key, ack.Version)), $"after round {round}: {ack}, which survived an earlier crash, is missing");
            foreach (var ack in roundAcks)
            {
                var survived = ack.PartitionSequence <= survivors.GetValueOrDefault(ack.Partition);
                Assert.True(survived == present.Contains((ack.Key, ack.Version)),
                    $"after round {round}: {ack} is {(survived ? "within" : "after")} its partition's surviving {survivors.GetValueOrDefault(ack.Partition)}, but {(survived ? "missing" : "present")}");
                if (survived) kept.Add(ack);
            }
            foreach (var byTask in versions.GroupBy(v => (v.Written.Round, v.Written.Task)))
            {
                var ns = byTask.Select(v => v.Written.N).Order().ToList();
                Assert.True(ns.SequenceEqual(Enumerable.Range(0, ns.Count)),
                    $"after round {round}: task {byTask.Key.Task} of round {byTask.Key.Round} kept writes [{string.Join(",", ns)}], not its first {ns.Count}");
            }
        }
    }

    /// <summary>Sync: kills after <paramref name="killAfter"/> acks. Interval: after that many acks past the writer's "flushed" (so commits lie behind the kill).</summary>
    private static async Task<List<Ack>> RunWriterUntilKilledAsync(string dataDirectory, int round, int killAfter, string durability = "sync")
    {
        var start = new ProcessStartInfo(Kv4.Tests.Support.DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Kv4.Tests.Support.DotnetHost.BuiltDll("Kv4.CrashWriter"));
        start.ArgumentList.Add(dataDirectory);
        start.ArgumentList.Add(round.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(Writers.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(durability);

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the crash writer");
        var stderr = process.StandardError.ReadToEndAsync();
        var acks = new List<Ack>();
        try
        {
            using var timeout = new CancellationTokenSource(Patience);
            var lines = new LineReader(process.StandardOutput);
            // Read until killAfter acks (in interval mode: after the flush), then SIGKILL while the writers are still going.
            var countFrom = durability == "sync" ? 0 : -1;
            while (countFrom < 0 || acks.Count - countFrom < killAfter)
            {
                var line = await lines.ReadLineAsync(timeout.Token);
                if (line is null)
                    Assert.Fail($"round {round}: the writer ended after {acks.Count} acks; stderr:\n{await stderr}");
                if (line == "flushed") countFrom = acks.Count;
                if (ParseAck(line) is { } ack) acks.Add(ack);
            }
            process.Kill(entireProcessTree: true); // SIGKILL on Linux
            // Everything the writer printed before it died is an acknowledged write too: read to the end.
            // A last line cut short by the kill is not counted (LineReader drops it).
            while (await lines.ReadLineAsync(timeout.Token) is { } line)
                if (ParseAck(line) is { } ack) acks.Add(ack);
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        return acks;
    }

    private static Ack? ParseAck(string line)
    {
        var parts = line.Split(' ');
        if (parts[0] != "ack") return null;
        return new Ack(parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), int.Parse(parts[3], CultureInfo.InvariantCulture),
            long.Parse(parts[4], CultureInfo.InvariantCulture), int.Parse(parts[5], CultureInfo.InvariantCulture),
            int.Parse(parts[6], CultureInfo.InvariantCulture), int.Parse(parts[7], CultureInfo.InvariantCulture));
    }

    /// <summary>The key the writer's task <paramref name="task"/> writes in its n-th write (the rule in Kv4.CrashWriter/Program.cs).</summary>
    private static string KeyOf(int task, int n) => n % 3 == 2 ? $"s{n % 4}" : $"w{task}-k{n % 8}";

    private static async Task AssertAllAcknowledgedWritesAreThereAsync(string dataDirectory, List<Ack> acked, int round)
    {
        await using var store = Kv4Store.Open(new StoreOptions { DataDirectory = dataDirectory });
        var ackByVersion = acked.ToDictionary(a => (a.Key, a.Version));
        // The last write each task acknowledged in each round: the only unacknowledged version it may have
        // left is the next one, the write in flight when it was killed.
        var lastAckedN = acked.GroupBy(a => (a.Round, Task: a.TaskId))
            .ToDictionary(g => g.Key, g => g.Max(a => a.N));

        var everyVersion = new List<(string Key, VersionId Version)>();
        foreach (var key in AllKeys(store, acked))
        {
            var address = AddressOf(key);
            var history = await store.GetHistoryAsync(address, HistoryQuery.All with { Limit = int.MaxValue });
            everyVersion.AddRange(history.Select(h => (key, h.Version)));
            var oldestFirst = history.Reverse().ToList();
            var found = new Dictionary<long, (int Round, int Task, int N)>();
            long previousVersion = 0;
            foreach (var entry in oldestFirst)
            {
                var written = Parse(entry, key);
                Assert.True(entry.Version.Value > previousVersion, $"after round {round}: the history of {key} is out of order at version {entry.Version}");
                previousVersion = entry.Version.Value;
                found[entry.Version.Value] = written;

                if (ackByVersion.TryGetValue((key, entry.Version.Value), out var ack))
                {
                    Assert.True(ack.Key == key && (ack.Round, ack.N) == (written.Round, written.N) && ack.TaskId == written.Task,
                        $"after round {round}: version {entry.Version} of {key} holds {written}, but the writer acknowledged {ack}");
                    continue;
                }
                var last = lastAckedN.TryGetValue((written.Round, written.Task), out var n) ? n : -1;
                Assert.True(written.N == last + 1,
                    $"after round {round}: {key} has unacknowledged version {entry.Version} {written}, but task {written.Task}'s last ack in round {written.Round} was n={last}");
            }

            // Every acknowledged write to this key is there, and each task's writes to it are in the order it made them.
            foreach (var ack in acked.Where(a => a.Key == key))
                Assert.True(found.ContainsKey(ack.Version), $"after round {round}: acknowledged {ack} is missing from the history of {key}");
            foreach (var byTask in found.Values.GroupBy(w => w.Task))
            {
                var inVersionOrder = found.Where(f => f.Value.Task == byTask.Key).OrderBy(f => f.Key).Select(f => (f.Value.Round, f.Value.N)).ToList();
                Assert.True(inVersionOrder.SequenceEqual(inVersionOrder.Order()),
                    $"after round {round}: task {byTask.Key}'s writes to {key} are not in the order it made them");
            }

            if (oldestFirst.Count > 0)
            {
                Assert.True(store.TryGetLatest(address, out var latest));
                Assert.Equal(oldestFirst[^1].Version, latest.Version);
            }
        }
        AssertEachPartitionIsWhole(store, everyVersion, round);
    }

    /// <summary>The keys the store lists under acks/ and those the writers acknowledged (a lost key must be looked at too).</summary>
    private static List<string> AllKeys(Kv4Store store, IEnumerable<Ack> acked) =>
        store.ListPaths(Bucket, Layer, "acks").Select(p => p["acks/".Length..]).Union(acked.Select(a => a.Key)).ToList();

    /// <summary>
    /// In every partition the surviving records are sequences 1..n with no hole, n is what the lane recovered, and each
    /// version carries its record's sequence. Returns n by partition.
    /// </summary>
    private static Dictionary<int, long> AssertEachPartitionIsWhole(Kv4Store store, IEnumerable<(string Key, VersionId Version)> versions, int round)
    {
        var survivors = new Dictionary<int, long>();
        foreach (var partition in versions.GroupBy(v => store.PartitionOf(Bucket, Layer, AddressOf(v.Key).Path)))
        {
            var sequences = partition.Select(v => v.Version.PartitionSequence).Order().ToList();
            Assert.True(sequences.SequenceEqual(Enumerable.Range(1, sequences.Count).Select(i => (long)i)),
                $"after round {round}: partition {partition.Key} kept sequences [{string.Join(",", sequences)}], not 1..{sequences.Count}");
            Assert.Equal(sequences.Count, store.PartitionPosition(partition.Key).Sequence);
            survivors[partition.Key] = sequences.Count;
        }
        Assert.True(survivors.Count > 8, $"after round {round}: the writes reached only {survivors.Count} partitions");
        return survivors;
    }

    /// <summary>The (round, task, n) a version carries; anything else is a garbled value.</summary>
    private static (int Round, int Task, int N) Parse(HistoryEntry entry, string key)
    {
        Assert.Equal(Operation.Put, entry.Op);
        Assert.NotNull(entry.Value);
        using var json = JsonDocument.Parse(entry.Value.Value);
        var root = json.RootElement;
        var value = (Round: root.GetProperty("round").GetInt32(), Task: root.GetProperty("task").GetInt32(), N: root.GetProperty("n").GetInt32());
        Assert.True(KeyOf(value.Task, value.N) == key, $"{key} holds {value}, which task {value.Task} wrote to {KeyOf(value.Task, value.N)}");
        Assert.Equal($"writer-{value.Task}", entry.Actor);
        return value;
    }

    /// <summary>Reads complete '\n'-terminated lines; a tail without its newline (cut by the kill) is dropped.</summary>
    private sealed class LineReader(StreamReader reader)
    {
        private readonly StringBuilder _pending = new();
        private readonly char[] _buffer = new char[4096];
        private readonly Queue<string> _lines = new();

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (_lines.Count == 0)
            {
                // WaitAsync: a pipe read does not always observe cancellation by itself.
                var read = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken).AsTask().WaitAsync(cancellationToken);
                if (read == 0) return null;
                for (var i = 0; i < read; i++)
                {
                    if (_buffer[i] == '\n')
                    {
                        _lines.Enqueue(_pending.ToString());
                        _pending.Clear();
                    }
                    else _pending.Append(_buffer[i]);
                }
            }
            return _lines.Dequeue();
        }
    }
}
