namespace Kv4.Services.Stats;

/// <summary>
/// Where a service records a measurement (http-api.md §5.9 `_stats`) without knowing how stats are kept. Example: the
/// signal hub records `router:pkt` 212 at entity "room" for key "alice" each time it relays a 212-byte message alice
/// sent on channel "room" of bucket "elena". Must be cheap and must not throw; false when the value was dropped.
/// </summary>
public interface IStatsSink
{
    bool Record(string bucket, string entity, string measurement, string key, double value);
}
