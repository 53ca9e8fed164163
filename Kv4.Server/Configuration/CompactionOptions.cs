namespace Kv4.Server.Configuration;

/// <summary>
/// `Kv4:Compaction`: how often a single node looks at whether its log's head can be compacted (see docs/operations.md,
/// retention and compaction). `IntervalSeconds` 0 turns the loop off; `MinReclaimPercent` is the least share of the head
/// segments that must be outside retention for a compaction to run (less would copy more than it frees).
/// </summary>
public sealed class CompactionOptions
{
    public int IntervalSeconds { get; set; } = 60;

    public int MinReclaimPercent { get; set; } = 25;

    public bool IsValid => IntervalSeconds >= 0 && MinReclaimPercent is >= 1 and <= 100;
}
