namespace Kv4.Services.Stats;

/// <summary>Bound from `Kv4:Stats` (`Kv4:Stats:FlushSeconds` is used outside the project; keep the name).</summary>
public sealed class StatsOptions
{
    /// <summary>How often the in-memory values are written to the store as per-minute rollups (and the most a crash loses).</summary>
    public int FlushSeconds { get; set; } = 15;
}
