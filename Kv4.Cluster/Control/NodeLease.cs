namespace Kv4.Cluster.Control;

/// <summary>
/// How long this node may act as the primary of its partitions. The leader answers a heartbeat only while a quorum
/// confirms it leads; the lease then runs <see cref="ClusterOptions.Lease"/> from when that heartbeat was sent, and
/// only once this node has applied the control-plane state the leader had (so it knows any newer primary). The
/// leader takes a node's partitions only <see cref="ClusterOptions.FailureTimeout"/> after its last heartbeat
/// (longer after a leader change), which is after any lease it gave has run out: a node frozen and thawed, or cut off,
/// stops serving before another node starts serving its partitions.
/// <code>
///   t=0     heartbeat sent          t=3 ms  answered (state v41)   lease: until 600 ms, once state ≥ v41 here
///   t=200   heartbeat sent ...      no answer (leader gone)         lease still until 600 ms
///   t=600   lease over: requests for its partitions answer `unavailable` until a heartbeat is answered again
/// </code>
/// </summary>
internal sealed class NodeLease(TimeSpan length)
{
    private long _validUntilMs = long.MinValue;
    private long _requiredVersion = long.MaxValue;

    /// <summary>A heartbeat sent at <paramref name="sentAtMs"/> (Environment.TickCount64) was answered by a leader at <paramref name="stateVersion"/>.</summary>
    public void Renew(long sentAtMs, long stateVersion)
    {
        var until = sentAtMs + (long)length.TotalMilliseconds;
        long current;
        do
        {
            current = Interlocked.Read(ref _validUntilMs);
            if (until <= current) break;
        }
        while (Interlocked.CompareExchange(ref _validUntilMs, until, current) != current);
        Interlocked.Exchange(ref _requiredVersion, stateVersion);
    }

    public bool IsValid(long appliedVersion) =>
        Environment.TickCount64 < Interlocked.Read(ref _validUntilMs) && appliedVersion >= Interlocked.Read(ref _requiredVersion);

    /// <summary>Milliseconds left (0 when over).</summary>
    public long RemainingMs => Math.Max(0, Interlocked.Read(ref _validUntilMs) - Environment.TickCount64);
}
