namespace Kv4.Services.Stats;

/// <summary>
/// The values recorded since the last flush, summed per minute in memory, so recording costs a dictionary update
/// and the store sees one write per (series, hour) per flush instead of one per value.
///
/// State, for example, after elena called `GET /_data/a` twice at 05:07 and once at 05:08, and posted 3.5 to
/// `/_stats/room1?l=bytes` at 05:07 (minutes as unix ms at their start):
/// <code>
///   (elena, data/GET, api:3, elena, 05:07) → (sum 2,   min 1,   max 1,   count 2)
///   (elena, data/GET, api:3, elena, 05:08) → (sum 1,   min 1,   max 1,   count 1)
///   (elena, room1,    bytes, elena, 05:07) → (sum 3.5, min 3.5, max 3.5, count 1)
/// </code>
/// <see cref="Drain"/> hands this map to the flusher and starts an empty one. One lock guards the map: a record
/// holds it for one dictionary update, a drain for a pointer swap.
/// </summary>
public sealed class StatsAccumulator
{
    /// <summary>Distinct cells kept between two flushes; beyond it new cells are refused (existing ones still count).</summary>
    public const int MaxCells = 200_000;

    private readonly Lock _lock = new();
    private Dictionary<StatsCell, Rollup> _pending = new();

    /// <summary>Adds a value; false when the cell is new and the bound is reached (the value is dropped).</summary>
    public bool Record(in StatsCell cell, double value)
    {
        lock (_lock)
        {
            if (_pending.TryGetValue(cell, out var rollup))
            {
                _pending[cell] = rollup.Add(value);
                return true;
            }
            if (_pending.Count >= MaxCells) return false;
            _pending.Add(cell, Rollup.Of(value));
            return true;
        }
    }

    /// <summary>Everything recorded so far; the accumulator starts empty again.</summary>
    public Dictionary<StatsCell, Rollup> Drain()
    {
        lock (_lock)
        {
            var drained = _pending;
            _pending = new Dictionary<StatsCell, Rollup>();
            return drained;
        }
    }

    /// <summary>Puts back cells a failed flush could not write, so the next flush retries them.</summary>
    public void Restore(IEnumerable<KeyValuePair<StatsCell, Rollup>> cells)
    {
        lock (_lock)
            foreach (var (cell, rollup) in cells)
                _pending[cell] = _pending.TryGetValue(cell, out var current) ? current.Merge(rollup) : rollup;
    }

    public int PendingCells
    {
        get { lock (_lock) return _pending.Count; }
    }
}
