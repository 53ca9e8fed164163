using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Kv4.Engine.Model;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Storage;

namespace Kv4.Services.Stats;

/// <summary>
/// Per-minute rollups in the store (layout: <see cref="StatsSeries"/>): the flusher merges drained cells into the hour
/// entries, and queries aggregate the minutes of a range into totals or calendar groups. Queries read only rollups,
/// never raw values, so values recorded since the last flush are not visible yet.
/// </summary>
public sealed class StatsRollupStore(IStore store)
{
    /// <summary>The actor stamped on rollup versions: the system writes them, on behalf of whoever recorded.</summary>
    public const string FlushActor = "$stats";

    /// <summary>Merges cells into their hour entries (one read-modify-write per entry). Only the flusher calls this.</summary>
    public async ValueTask WriteAsync(IReadOnlyDictionary<StatsCell, Rollup> cells, StatsAccumulator retry, CancellationToken cancellationToken)
    {
        var byEntry = new Dictionary<EntryAddress, List<KeyValuePair<StatsCell, Rollup>>>();
        foreach (var pair in cells)
        {
            var cell = pair.Key;
            var address = new EntryAddress(cell.Bucket, StatsSeries.Layer, cell.Entity,
                StatsSeries.Key(cell.Measurement, StatsSeries.HourStart(cell.MinuteMs), cell.Key));
            if (!byEntry.TryGetValue(address, out var list)) byEntry[address] = list = [];
            list.Add(pair);
        }

        var pending = new Queue<KeyValuePair<EntryAddress, List<KeyValuePair<StatsCell, Rollup>>>>(byEntry);
        try
        {
            while (pending.TryPeek(out var entry))
            {
                var minutes = await store.GetLatestAsync(entry.Key, cancellationToken).ConfigureAwait(false) is { } stored
                    ? ReadMinutes(stored.Json.Span)
                    : new SortedDictionary<int, Rollup>();
                foreach (var (cell, rollup) in entry.Value)
                {
                    var minute = (int)((cell.MinuteMs - StatsSeries.HourStart(cell.MinuteMs)) / 60_000);
                    minutes[minute] = minutes.TryGetValue(minute, out var current) ? current.Merge(rollup) : rollup;
                }
                await store.PutAsync(entry.Key, WriteMinutes(minutes), FlushActor, cancellationToken: cancellationToken).ConfigureAwait(false);
                pending.Dequeue();
            }
        }
        catch
        {
            retry.Restore(pending.SelectMany(p => p.Value));
            throw;
        }
    }

    /// <summary>
    /// The rollups of a measurement at an entity **and every entity under it** in [fromMs, toMs] (the range widened to
    /// whole minutes), of one stats key or of all, grouped at <paramref name="groupDepth"/> (1 year .. 5 minute; 0 = one
    /// total). Returns the groups in time order, keyed like "2016:3:16:5". The subtree is the reference's rule for the
    /// root (`GET /_stats?l=api:3` sums every service and method of the account) applied at any entity: "data" sums
    /// data/GET, data/PUT, ...; an entity with nothing under it is just itself.
    /// </summary>
    public async ValueTask<IReadOnlyList<(string Group, Rollup Rollup)>> QueryAsync(string bucket, string entity, string measurement, string? statsKey,
        long fromMs, long toMs, int groupDepth, CancellationToken cancellationToken = default)
    {
        var from = fromMs == long.MinValue ? long.MinValue : StatsSeries.MinuteStart(fromMs);
        var groups = new Dictionary<string, (long FirstMs, Rollup Rollup)>(StringComparer.Ordinal);
        foreach (var path in await store.Bucket(bucket).ListPathsAsync(StatsSeries.Layer, entity, cancellationToken: cancellationToken).ConfigureAwait(false))
            await QueryEntityAsync(bucket, path, measurement, statsKey, from, toMs, groupDepth, groups, cancellationToken).ConfigureAwait(false);
        return groups.OrderBy(g => g.Value.FirstMs).Select(g => (g.Key, g.Value.Rollup)).ToList();
    }

    private async ValueTask QueryEntityAsync(string bucket, string entity, string measurement, string? statsKey, long from, long toMs, int groupDepth,
        Dictionary<string, (long FirstMs, Rollup Rollup)> groups, CancellationToken cancellationToken)
    {
        var keys = await store.Bucket(bucket).ListKeysAsync(StatsSeries.Layer, entity, cancellationToken).ConfigureAwait(false);
        var start = from == long.MinValue
            ? measurement + StatsSeries.Separator
            : StatsSeries.HourPrefix(measurement, Math.Max(0, StatsSeries.HourStart(from)));
        for (var i = LowerBound(keys, start); i < keys.Count; i++)
        {
            if (!StatsSeries.TryParse(keys[i], measurement, out var hourMs, out var key)) break; // past this measurement
            if (hourMs > toMs) break;
            if (statsKey is not null && key != statsKey) continue;
            if (await store.GetLatestAsync(new EntryAddress(bucket, StatsSeries.Layer, entity, keys[i]), cancellationToken).ConfigureAwait(false)
                is not { } stored)
                continue;
            foreach (var (minute, rollup) in ReadMinutes(stored.Json.Span))
            {
                var minuteMs = hourMs + minute * 60_000L;
                if (minuteMs < from || minuteMs > toMs) continue;
                var group = groupDepth == 0 ? "" : TimeGroup.Format(minuteMs, groupDepth);
                groups[group] = groups.TryGetValue(group, out var current)
                    ? (Math.Min(current.FirstMs, minuteMs), current.Rollup.Merge(rollup))
                    : (minuteMs, rollup);
            }
        }
    }

    private static int LowerBound(IReadOnlyList<string> keys, string value)
    {
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (string.CompareOrdinal(keys[mid], value) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>`{"7":[sum,min,max,count],...}` → minute → rollup. Members that do not fit the layout are skipped.</summary>
    internal static SortedDictionary<int, Rollup> ReadMinutes(ReadOnlySpan<byte> json)
    {
        var minutes = new SortedDictionary<int, Rollup>();
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return minutes;
        Span<double> figures = stackalloc double[4];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var minute))
            {
                reader.Skip();
                continue;
            }
            var n = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                if (n < 4) figures[n++] = reader.GetDouble();
            if (n == 4 && minute is >= 0 and < 60) minutes[minute] = new Rollup(figures[0], figures[1], figures[2], (long)figures[3]);
        }
        return minutes;
    }

    internal static byte[] WriteMinutes(SortedDictionary<int, Rollup> minutes)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * minutes.Count + 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (minute, rollup) in minutes)
            {
                writer.WriteStartArray(minute.ToString(CultureInfo.InvariantCulture));
                writer.WriteNumberValue(rollup.Sum);
                writer.WriteNumberValue(rollup.Min);
                writer.WriteNumberValue(rollup.Max);
                writer.WriteNumberValue(rollup.Count);
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>`{"sum":..,"min":..,"max":..,"count":..}`; min and max are null when nothing was recorded.</summary>
    internal static void WriteRollup(Utf8JsonWriter writer, Rollup rollup)
    {
        writer.WriteStartObject();
        writer.WriteNumber("sum", rollup.Sum);
        if (rollup.Count == 0)
        {
            writer.WriteNull("min");
            writer.WriteNull("max");
        }
        else
        {
            writer.WriteNumber("min", rollup.Min);
            writer.WriteNumber("max", rollup.Max);
        }
        writer.WriteNumber("count", rollup.Count);
        writer.WriteEndObject();
    }
}
