namespace Kv4.Engine;

public enum DurabilityMode
{
    /// <summary>A write is acknowledged after its commit is durable; concurrent writers share one commit.</summary>
    Sync,
    /// <summary>A background task commits every <see cref="StoreOptions.CommitIntervalMs"/>; a crash may lose that window.</summary>
    Interval,
}
