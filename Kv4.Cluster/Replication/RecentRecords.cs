namespace Kv4.Cluster.Replication;

/// <summary>
/// The last records a primary appended to one partition, kept in memory so backups that keep up are fed without
/// reading the log. Bounded by count and bytes: a backup that falls further behind reads the log instead.
/// <code>
///   after #101..#104 with room for 3:   base 102 [#102 #103 #104]    from 103: [#103 #104]   from 101: null (read the log)
///   a new primary whose lane is at #101:  base 102 []                  from 102: [] (wait)     from 1: null (read the log)
/// </code>
/// It starts empty at the sequence after the lane's when its primary took over: everything before is only in the log.
/// </summary>
internal sealed class RecentRecords(long firstSequence, int maxRecords = 4096, long maxBytes = 16 << 20)
{
    private readonly Lock _gate = new();
    private readonly Queue<byte[]> _records = new();
    private long _firstSequence = firstSequence;
    private long _bytes;

    /// <summary>The lane held: the partition's next record (sequences come in order; a gap restarts the buffer).</summary>
    public void Add(long sequence, ReadOnlySpan<byte> record)
    {
        var copy = record.ToArray();
        lock (_gate)
        {
            if (sequence != _firstSequence + _records.Count)
            {
                _records.Clear();
                _bytes = 0;
                _firstSequence = sequence;
            }
            _records.Enqueue(copy);
            _bytes += copy.Length;
            while (_records.Count > maxRecords || (_bytes > maxBytes && _records.Count > 1))
            {
                _bytes -= _records.Dequeue().Length;
                _firstSequence++;
            }
        }
    }

    /// <summary>Records from <paramref name="from"/> on (at most <paramref name="max"/> and about <paramref name="maxBytes"/>); null when they are no longer here.</summary>
    public List<byte[]>? TakeFrom(long from, int max, long maxBytes)
    {
        lock (_gate)
        {
            if (from < _firstSequence) return null;
            var skip = from - _firstSequence;
            var taken = new List<byte[]>();
            long bytes = 0;
            foreach (var record in _records.Skip((int)Math.Min(skip, int.MaxValue)))
            {
                if (taken.Count >= max || (bytes >= maxBytes && taken.Count > 0)) break;
                taken.Add(record);
                bytes += record.Length;
            }
            return taken;
        }
    }
}
