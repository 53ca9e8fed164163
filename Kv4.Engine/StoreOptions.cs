using Kv4.Engine.Rules;

namespace Kv4.Engine;

public sealed class StoreOptions
{
    /// <summary>The directory that holds the log and the index checkpoints. Created if absent.</summary>
    public required string DataDirectory { get; init; }

    public DurabilityMode Durability { get; init; } = DurabilityMode.Interval;

    /// <summary>
    /// Whether reads and the change feed show a version only once its record is committed (so a crash never takes
    /// back what a reader saw). Null: on in <see cref="DurabilityMode.Sync"/> (a writer waits for that commit
    /// anyway), off in <see cref="DurabilityMode.Interval"/>, where a read sees a write as soon as it is appended.
    /// </summary>
    public bool? DurableReads { get; init; }

    /// <summary>
    /// A replica of a cluster: every partition starts with no role (the cluster gives each its primary or backup
    /// role and its epoch through <see cref="Kv4Store.Replication"/>), reads and the feed show only versions the
    /// cluster acknowledged, a bucket is dropped one partition at a time, and an unclean stop raises no epoch (the
    /// cluster decides epochs). <see cref="DurableReads"/> does not apply.
    /// </summary>
    public bool Replicated { get; init; }

    /// <summary>With <see cref="DurabilityMode.Interval"/>: how often the log is committed.</summary>
    public int CommitIntervalMs { get; init; } = 5;

    public int MaxValueBytes { get; init; } = JsonValueRules.DefaultMaxValueBytes;

    /// <summary>How many partitions the consistent-hash ring maps (bucket, layer, path) onto.</summary>
    public int PartitionCount { get; init; } = 64;

    /// <summary>An index checkpoint is written after this many records (and on dispose), bounding replay at open.</summary>
    public long CheckpointEveryRecords { get; init; } = 1_000_000;

    /// <summary>log2 of the FasterLog in-memory buffer size; pages beyond it live only on disk.</summary>
    public int LogMemorySizeBits { get; init; } = 26;

    /// <summary>
    /// The size of one log segment file, in MiB: a power of two from <see cref="Log.LogSegments.MinSizeMB"/> (and at
    /// least one log page) up to <see cref="Log.LogSegments.MaxSizeMB"/>. Space is reclaimed in whole segments, so
    /// small deployments and tests take small ones. Fixed when the data directory is created (see
    /// <see cref="Log.LogSegments"/>): opening it with another size is refused.
    /// </summary>
    public int LogSegmentSizeMB { get; init; } = Log.LogSegments.DefaultSizeMB;

    /// <summary>
    /// Called after every log commit with how long it took (sync mode: each group commit; interval mode: each
    /// periodic one), before the writers waiting for it are released. Runs on the commit loop: keep it cheap.
    /// The host feeds its commit-latency histogram from it.
    /// </summary>
    public Action<TimeSpan>? CommitObserved { get; init; }

    /// <summary>Which versions compaction keeps (<see cref="Kv4Store.CompactAsync"/>); nothing is reclaimed until it runs.</summary>
    public Retention.RetentionPolicy Retention { get; init; } = Engine.Retention.RetentionPolicy.Standard;

    /// <summary>The clock that stamps versions. Tests pass a fake one.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
