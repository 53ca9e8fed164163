namespace Kv4.Engine.Model;

/// <summary>
/// Where one version sits in the log, so a history read can continue just after it without reading the
/// versions before it again. Example: key k written at log addresses 100, 250, 400 (versions 3, 7, 9);
/// the newest version's position is (Address 400, PreviousAddress 250, Version 9), and a read of k's
/// history after it starts at 250. A path history continues with every version whose address is below 400
/// (a path is in one partition, whose lane appends in version order).
/// Positions come from the engine; a caller that lets clients hold one must keep it from being forged.
/// </summary>
public readonly record struct HistoryPosition(long Address, long PreviousAddress, long Version);
