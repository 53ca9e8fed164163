namespace Kv4.Services.Stats;

/// <summary>Sum, min, max and count of the values recorded into one cell (a minute, or a query group). Mergeable.</summary>
public readonly record struct Rollup(double Sum, double Min, double Max, long Count)
{
    public static readonly Rollup Empty = new(0, double.PositiveInfinity, double.NegativeInfinity, 0);

    public static Rollup Of(double value) => new(value, value, value, 1);

    public Rollup Add(double value) => Count == 0 ? Of(value) : new(Sum + value, Math.Min(Min, value), Math.Max(Max, value), Count + 1);

    public Rollup Merge(Rollup other) =>
        other.Count == 0 ? this
        : Count == 0 ? other
        : new(Sum + other.Sum, Math.Min(Min, other.Min), Math.Max(Max, other.Max), Count + other.Count);
}
