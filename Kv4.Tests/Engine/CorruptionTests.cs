using System.Text;
using System.Text.RegularExpressions;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Recovery;
using Kv4.Engine.Rules;
using Kv4.Tests.Engine.Support;

namespace Kv4.Tests.Engine;

/// <summary>
/// A damaged log tail is dropped, never served. Each case writes the same 30 puts (unique values, several
/// versions per key, some with secondary keys) in two sessions, closes the store, damages the newest log
/// segment on disk (truncation, or flipped bytes) and reopens, with the index checkpoint covering all of
/// the log, only the part before the damage (a crash), or absent (see <see cref="CheckpointStates"/>). Where each record lies is found by searching the file for
/// its value's bytes (values are stored verbatim), which gives bounds on what may survive:
/// - a write whose value bytes are damaged or cut off must be gone, and so must every later one (the
///   log is a sequence; serving write n+1 without write n would invent a history that never existed);
/// - a write whose record ends before the damage (its successor's value starts before it) must be there.
/// The reopened store must then equal the model of exactly the first k writes for some k in those
/// bounds: latest values, histories, listings, secondary keys and the change feed, with no exception
/// and no garbled value. Then it must keep working: more writes, another reopen, all present.
/// </summary>
[Trait("Category", "Unit")]
public class CorruptionTests
{
    private const int Writes = 30;

    private sealed record Write(EntryAddress At, byte[] Json, string Actor, SecondaryKeys SecondaryKeys, WriteResult Result);

    /// <summary>
    /// What the index checkpoint covers when the damage is found:
    /// "clean close" - the checkpoint written on dispose covers every write, damaged ones included;
    /// "crash" - the newest checkpoint is from before the damaged writes (as after a crash, when the log
    ///           went on past the last checkpoint), so the damage is met while replaying the log;
    /// "no checkpoint" - the whole log is replayed;
    /// "fuzzy" - a checkpoint taken while writers ran: its header claims only the first half, but its copy of the
    ///           index already holds every write (what a copy that overlapped the second half's writes holds),
    ///           so the damage is met while replaying and the copy must not be trusted past it.
    /// </summary>
    public static readonly string[] CheckpointStates = ["clean close", "crash", "no checkpoint", Fuzzy];

    private const string Fuzzy = "fuzzy";

    private const string CleanClose = "clean close";


    // (how, which write from the end (1 = last), offset relative to that write's value start)
    private static readonly (string How, int FromEnd, int Relative)[] TruncationPoints =
    [
        ("mid-value of the last write", 1, 5),
        ("just before the last write's value", 1, -2),
        ("mid-value of the 2nd to last write", 2, 3),
        ("inside the record header of the 3rd to last write", 3, -6),
        ("mid-value of the 6th to last write", 6, 1),
    ];

    private static readonly (string How, int FromEnd, int Relative)[] FlipPoints =
    [
        ("a byte of the last write's value", 1, 4),
        ("a byte of the 2nd to last write's value", 2, 6),
        ("a byte of the 5th to last write's value", 5, 2),
        ("a header byte of the 3rd to last write", 3, -3),
        ("the first byte of the 4th to last write's value", 4, 0),
    ];

    public static TheoryData<string, string, int, int> Truncations => Cases(TruncationPoints, CheckpointStates.Where(c => c != CleanClose));

    public static TheoryData<string, string, int, int> Flips => Cases(FlipPoints, CheckpointStates.Where(c => c != CleanClose));

    public static TheoryData<string, string, int, int> TruncationsAfterCleanClose => Cases(TruncationPoints, [CleanClose]);

    public static TheoryData<string, string, int, int> FlipsAfterCleanClose => Cases(FlipPoints, [CleanClose]);

    private static TheoryData<string, string, int, int> Cases((string How, int FromEnd, int Relative)[] points, IEnumerable<string> states)
    {
        var data = new TheoryData<string, string, int, int>();
        foreach (var state in states)
            foreach (var (how, fromEnd, relative) in points)
                data.Add(state, how, fromEnd, relative);
        return data;
    }

    /// <summary>
    /// The same damage after a clean close: the checkpoint written on dispose claims every write,
    /// the damaged ones included, so the damage must be noticed although no replay meets it.
    /// </summary>
    [Theory, MemberData(nameof(TruncationsAfterCleanClose))]
    public Task A_truncated_tail_after_a_clean_close_is_dropped_too(string checkpoint, string how, int fromEnd, int relative) =>
        A_truncated_tail_is_dropped_and_the_store_keeps_working(checkpoint, how, fromEnd, relative);

    [Theory, MemberData(nameof(FlipsAfterCleanClose))]
    public Task Flipped_bytes_after_a_clean_close_are_dropped_too(string checkpoint, string how, int fromEnd, int relative) =>
        Flipped_bytes_in_the_tail_are_dropped_and_the_store_keeps_working(checkpoint, how, fromEnd, relative);

    [Theory, MemberData(nameof(Truncations))]
    public async Task A_truncated_tail_is_dropped_and_the_store_keeps_working(string checkpoint, string how, int fromEnd, int relative)
    {
        using var directory = new TempDirectory("truncate");
        var clock = new SteppedClock();
        var writes = await WriteAndCloseAsync(directory.Path, clock, checkpoint);
        var (segment, offsets) = LocateRecords(directory.Path, writes);
        var target = Writes - fromEnd;
        var cut = offsets[target] + relative;
        var length = new FileInfo(segment).Length;
        Assert.True(cut > 0 && cut < length, $"{how}: cut {cut} is outside the segment ({length} bytes)");

        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
            file.SetLength(cut);

        await ReopenAndCheckAsync(directory.Path, clock, writes, offsets, damageStart: cut, how);
    }

    [Theory, MemberData(nameof(Flips))]
    public async Task Flipped_bytes_in_the_tail_are_dropped_and_the_store_keeps_working(string checkpoint, string how, int fromEnd, int relative)
    {
        using var directory = new TempDirectory("flip");
        var clock = new SteppedClock();
        var writes = await WriteAndCloseAsync(directory.Path, clock, checkpoint);
        var (segment, offsets) = LocateRecords(directory.Path, writes);
        var target = Writes - fromEnd;
        var at = offsets[target] + relative;

        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = at;
            var original = file.ReadByte();
            file.Position = at;
            file.WriteByte((byte)(original ^ 0x5A));
        }

        await ReopenAndCheckAsync(directory.Path, clock, writes, offsets, damageStart: at, how);
    }

    /// <summary>Writes the first half, closes, writes the second half, closes; then leaves the checkpoints as <paramref name="checkpoint"/> says.</summary>
    private static async Task<List<Write>> WriteAndCloseAsync(string dataDirectory, SteppedClock clock, string checkpoint)
    {
        var writes = new List<Write>();
        var addresses = StoreOp.AllAddresses().Where((_, i) => i % 7 == 0).ToArray();
        var checkpoints = Path.Combine(dataDirectory, "checkpoints");
        var saved = dataDirectory + "-checkpoints-after-first-half";
        try
        {
            for (var half = 0; half < 2; half++)
            {
                await using (var store = Kv4Store.Open(new StoreOptions { DataDirectory = dataDirectory, Clock = clock }))
                {
                    for (var i = half * Writes / 2; i < (half + 1) * Writes / 2; i++)
                    {
                        clock.Advance(1000);
                        var at = addresses[i % addresses.Length];
                        // Unique per write and never a substring of another (the closing brace ends it).
                        var json = Encoding.UTF8.GetBytes($"{{\"write\":{i},\"pad\":\"{new string((char)('a' + i % 26), 10 + i * 7 % 90)}\"}}");
                        var secondary = i % 5 == 0 ? new SecondaryKeys(K2: $"e{i}") : SecondaryKeys.None;
                        var result = await store.PutAsync(at, json, "writer", secondaryKeys: secondary);
                        writes.Add(new Write(at, json, "writer", secondary, result));
                    }
                }
                if (half == 0 && checkpoint is "crash" or Fuzzy)
                {
                    Assert.True(Directory.Exists(checkpoints), $"the store wrote no {checkpoints} on close; this test needs to know where checkpoints live");
                    CopyDirectory(checkpoints, saved);
                }
            }

            switch (checkpoint)
            {
                case "crash":
                    Directory.Delete(checkpoints, recursive: true);
                    CopyDirectory(saved, checkpoints);
                    break;
                case Fuzzy:
                    // The clean close's index (all writes), described by the first half's header.
                    var everything = IndexCheckpoint.LoadNewestFirst(dataDirectory).First();
                    Directory.Delete(checkpoints, recursive: true);
                    CopyDirectory(saved, checkpoints);
                    var firstHalf = IndexCheckpoint.LoadNewestFirst(dataDirectory).First().Header;
                    Assert.True(firstHalf.Records < everything.Header.Records);
                    Directory.Delete(checkpoints, recursive: true);
                    await IndexCheckpoint.WriteAsync(dataDirectory, firstHalf, everything.Index, () => everything.Header.ReplayFromAddress,
                        () => Task.CompletedTask);
                    break;
                case "no checkpoint":
                    if (Directory.Exists(checkpoints)) Directory.Delete(checkpoints, recursive: true);
                    break;
            }
            return writes;
        }
        finally
        {
            if (Directory.Exists(saved)) Directory.Delete(saved, recursive: true);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    /// <summary>The newest log segment and, for each write, the file offset where its value's bytes start.</summary>
    private static (string Segment, long[] Offsets) LocateRecords(string dataDirectory, List<Write> writes)
    {
        // FasterLog names its segments "<base>.<n>"; the engine keeps them in the data directory's "log" folder.
        var segments = Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories)
            .Select(f => (File: f, Match: Regex.Match(Path.GetFileName(f), @"\.log\.(\d+)$")))
            .Where(s => s.Match.Success)
            .OrderBy(s => long.Parse(s.Match.Groups[1].Value))
            .Select(s => s.File)
            .ToList();
        Assert.True(segments.Count > 0, $"no log segment (*.log.N) under {dataDirectory}: {string.Join(", ", Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories))}");
        var segment = segments[^1];
        var bytes = File.ReadAllBytes(segment);
        var offsets = new long[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            var at = bytes.AsSpan().IndexOf(writes[i].Json);
            Assert.True(at >= 0, $"write {i}'s value is not stored verbatim in {segment}; the corruption test cannot place its damage");
            Assert.True(i == 0 || at > offsets[i - 1], $"write {i} lies before write {i - 1} in the log");
            offsets[i] = at;
        }
        return (segment, offsets);
    }

    private static async Task ReopenAndCheckAsync(string dataDirectory, SteppedClock clock, List<Write> writes, long[] offsets, long damageStart, string how)
    {
        // A write whose value starts at or after the damage, or is cut by it, must be gone ...
        var mostThatMaySurvive = Enumerable.Range(0, writes.Count).Count(i => offsets[i] + writes[i].Json.Length <= damageStart);
        // ... and one whose successor's value starts before the damage lies entirely before it and must survive.
        var fewestThatMustSurvive = Enumerable.Range(0, writes.Count - 1).Count(i => offsets[i + 1] <= damageStart);
        var options = new StoreOptions { DataDirectory = dataDirectory, Clock = clock };

        StoreModel model;
        await using (var store = Kv4Store.Open(options))
        {
            // One writer: the writes' records lie in the log in the order they were made, so the survivors are a prefix.
            var survivors = (int)store.AppendedRecords;
            Assert.True(survivors <= mostThatMaySurvive,
                $"{how}: the store claims {survivors} writes (LastSequence {store.AppendedRecords}), but write #{mostThatMaySurvive} (from #0) was damaged: it and every later write must be gone");
            Assert.True(survivors >= fewestThatMustSurvive,
                $"{how}: only {survivors} writes survived, but the first {fewestThatMustSurvive} lay before the damage");
            model = ModelOf(writes.Take(survivors));
            await StoreModelProperties.CompareEverythingAsync(store, model);

            // It keeps working: a key that lost versions, a key that kept them, and a fresh one.
            foreach (var at in new[] { writes[^1].At, writes[0].At, new EntryAddress("b1", "data", "after", "fresh") })
            {
                clock.Advance(1000);
                var json = Encoding.UTF8.GetBytes($"{{\"after\":\"{at.Key}\"}}");
                var result = await store.PutAsync(at, json, "after");
                var last = model.LastVersionIn(result.Partition);
                Assert.True(result.Version.Value > last.Value, $"{how}: a new write got version {result.Version}, not after the surviving {last} of its partition");
                model.ApplyPut(at, json, result.Version, clock.NowMs, "after", SecondaryKeys.None, result.Partition, result.PartitionSequence);
                Assert.True(store.TryGetLatest(at, out var latest));
                Assert.Equal(result.Version, latest.Version);
            }
            await StoreModelProperties.CompareEverythingAsync(store, model);
        }

        await using (var reopened = Kv4Store.Open(options))
        {
            await StoreModelProperties.CompareEverythingAsync(reopened, model);
            var fresh = new EntryAddress("b1", "data", "after", "fresh");
            Assert.True(reopened.TryGetLatest(fresh, out var value));
            Assert.Equal("{\"after\":\"fresh\"}", Encoding.UTF8.GetString(value.Json.Span));
        }
    }

    private static StoreModel ModelOf(IEnumerable<Write> writes)
    {
        var model = new StoreModel();
        foreach (var w in writes)
            model.ApplyPut(w.At, JsonValueRules.ValidateAndCompact(w.Json, JsonValueRules.DefaultMaxValueBytes), w.Result.Version,
                w.Result.TimestampMs, w.Actor, w.SecondaryKeys, w.Result.Partition, w.Result.PartitionSequence);
        return model;
    }
}
