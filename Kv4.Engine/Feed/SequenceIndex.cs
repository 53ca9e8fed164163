namespace Kv4.Engine.Feed;

/// <summary>
/// A sparse map from sequence to log address: the address of every <see cref="Stride"/>-th record
/// (sequences 1, 4097, 8193, ...). A feed reader starting after sequence s scans from the last noted
/// record at or before s+1, so it reads at most one stride of records it does not need. Rebuilt by replay
/// and saved in checkpoints. Example after 10 000 records: [(1, 64), (4097, 532 480), (8193, 1 064 960)].
/// </summary>
internal sealed class SequenceIndex
{
    public const long Stride = 4096;

    private readonly Lock gate = new();
    private readonly List<long> sequences = [];
    private readonly List<long> addresses = [];

    /// <summary>Writer (or replay) only, in increasing sequence order.</summary>
    public void Note(long sequence, long address)
    {
        if ((sequence - 1) % Stride != 0) return;
        lock (gate)
        {
            if (sequences.Count > 0 && sequences[^1] >= sequence) return;
            sequences.Add(sequence);
            addresses.Add(address);
        }
    }

    /// <summary>The address to scan from to see every record after <paramref name="afterSequence"/>; <paramref name="logBegin"/> if none is noted.</summary>
    public long StartAddressAfter(long afterSequence, long logBegin)
    {
        lock (gate)
        {
            var i = sequences.BinarySearch(afterSequence + 1);
            if (i < 0) i = ~i - 1;
            return i >= 0 ? addresses[i] : logBegin;
        }
    }

    public (long[] Sequences, long[] Addresses) Snapshot()
    {
        lock (gate) return (sequences.ToArray(), addresses.ToArray());
    }

    public void Load(long[] noted, long[] at)
    {
        lock (gate)
        {
            sequences.Clear();
            addresses.Clear();
            sequences.AddRange(noted);
            addresses.AddRange(at);
        }
    }
}
