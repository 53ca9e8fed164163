namespace Kv4.Engine.Backups;

/// <summary>What a backup holds: the feed cursor it was cut at (a watch resumed from it after a restore misses nothing), when, and how much.</summary>
public sealed record BackupSummary(int PartitionCount, string Cursor, long TakenAtMs, long Records, long Bytes);
