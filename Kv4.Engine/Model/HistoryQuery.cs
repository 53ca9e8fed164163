namespace Kv4.Engine.Model;

/// <summary>
/// Bounds a history read: versions with FromMs &lt;= timestamp &lt;= ToMs (both inclusive, unix ms),
/// newest first, at most <see cref="Limit"/> of them.
/// </summary>
public readonly record struct HistoryQuery(long FromMs = long.MinValue, long ToMs = long.MaxValue, int Limit = HistoryQuery.DefaultLimit)
{
    public const int DefaultLimit = 1000;
    public static readonly HistoryQuery All = new(long.MinValue, long.MaxValue, DefaultLimit);
}
