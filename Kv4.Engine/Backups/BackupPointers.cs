using Kv4.Engine.Compaction;
using Kv4.Engine.Log;

namespace Kv4.Engine.Backups;

/// <summary>
/// Which records each pass of a log-order backup takes, and where their chain pointers lead in it, for a log that
/// compaction has been through (<see cref="CompactionHorizon"/>). A restore writes the records in the backup's order
/// and only points back, so the carries of versions below the horizon go first (pass 1) and the rest follow (pass 2).
/// Worked example, horizon H=1000, key k kept to 2 versions:
/// <code>
///   log      v3 @1500 (prev @200)   c2 @2000 (carry of v2, CarriedFrom @200, prev @100)   Redirects {200 → 2000}
///   pass 1   c2 @2000: prev @100 is below H with no redirect → 1 (<see cref="BackupFile.TruncatedPointer"/>)
///   pass 2   v3 @1500: prev @200 → @2000, written before it
/// </code>
/// A carry's CarriedFrom, an address of this log, becomes <see cref="BackupFile.TruncatedPointer"/>: below any horizon.
/// A carry that a compaction cut short by a crash left behind copies a version whose original (at or above H) is still
/// in the log: it is left out, and a pointer to it leads to the original instead.
/// </summary>
internal sealed class BackupPointers(CompactionHorizon horizon)
{
    private readonly Dictionary<long, long> strayCarries = [];
    private readonly HashSet<long> carriesTaken = [];

    public CompactionHorizon Horizon => horizon;

    /// <summary>Whether the pass (<paramref name="carries"/>: the first) takes the record at <paramref name="address"/>.</summary>
    public bool Takes(long address, LogRecord record, bool carries)
    {
        if (record.IsCarry && record.CarriedFrom >= horizon.Address)
        {
            strayCarries[address] = record.CarriedFrom;
            return false;
        }
        if (!carries) return !record.IsCarry;
        if (record.IsCarry) carriesTaken.Add(address);
        return record.IsCarry;
    }

    /// <summary>Where a taken record's chain pointer leads in the backup.</summary>
    public long Map(long pointer, bool carries)
    {
        if (pointer == 0) return 0;
        var target = horizon.Resolve(pointer, out var truncated);
        if (truncated) return BackupFile.TruncatedPointer;
        if (strayCarries.TryGetValue(target, out var original)) target = original;
        if (carries && !carriesTaken.Contains(target))
            throw new InvalidDataException($"a carry leads to the record at {target}, which is not an earlier carry: the log cannot be backed up in this order");
        return target;
    }
}
