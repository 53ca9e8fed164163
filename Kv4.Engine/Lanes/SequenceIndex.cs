namespace Kv4.Engine.Lanes;

/// <summary>
/// One partition's sparse map from partition sequence to log address: the address of every
/// <see cref="Stride"/>-th record of the partition (sequences 1, 1025, 2049, ...). A feed reader that resumes the
/// partition after sequence s scans from the last noted record at or before s+1, so it reads at most one stride of
/// the partition's records it does not need (and whatever other partitions wrote in between). Rebuilt by replay and
/// saved in checkpoints. Example after 2500 records of the partition: [(1, 64), (1025, 131 136), (2049, 262 208)].
/// </summary>
internal sealed class SequenceIndex
{
    public const long Stride = 1024;

    private readonly Lock gate = new();
    private readonly List<long> sequences = [];
    private readonly List<long> addresses = [];

    /// <summary>The lane's writer (or replay) only, in increasing sequence order.</summary>
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

    /// <summary>The address to scan from to see every record of the partition after <paramref name="afterSequence"/>; <paramref name="logBegin"/> if none is noted.</summary>
    public long StartAddressAfter(long afterSequence, long logBegin)
    {
        lock (gate)
        {
            var i = sequences.BinarySearch(afterSequence + 1);
            if (i < 0) i = ~i - 1;
            return i >= 0 ? addresses[i] : logBegin;
        }
    }

    /// <summary>A truncation of the lane: the points after <paramref name="afterSequence"/> go (their records are void).</summary>
    public void TruncateAfter(long afterSequence)
    {
        lock (gate)
        {
            var keep = sequences.FindIndex(s => s > afterSequence);
            if (keep < 0) return;
            sequences.RemoveRange(keep, sequences.Count - keep);
            addresses.RemoveRange(keep, addresses.Count - keep);
        }
    }

    public (long[] Sequences, long[] Addresses) Snapshot()
    {
        lock (gate) return (sequences.ToArray(), addresses.ToArray());
    }

    public void Load(ReadOnlySpan<long> noted, ReadOnlySpan<long> at)
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
