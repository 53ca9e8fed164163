namespace Kv4.Services.Signal;

public enum SignalReceiveResult
{
    /// <summary>`ping`: nothing relayed, the idle timer restarts.</summary>
    KeepAlive,
    Relayed,
    /// <summary>Malformed, or addressed to a peer that is not there: the sender got an error frame.</summary>
    Refused,
}
