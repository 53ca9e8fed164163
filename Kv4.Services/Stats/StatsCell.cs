namespace Kv4.Services.Stats;

/// <summary>One accumulation cell: a measurement of an entity, for one stats key, in one bucket, during one UTC minute.</summary>
public readonly record struct StatsCell(string Bucket, string Entity, string Measurement, string Key, long MinuteMs);
