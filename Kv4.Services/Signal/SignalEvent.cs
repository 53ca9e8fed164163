namespace Kv4.Services.Signal;

public enum SignalEventKind : byte
{
    Joined = 1,
    Left = 2,
    /// <summary>A relayed user message: <see cref="SignalEvent.Frame"/> is the frame as members receive it.</summary>
    Message = 3,
}

/// <summary>
/// What a member did, as nodes tell each other: <see cref="Connection"/> and <see cref="ConnectedAtMs"/> identify the
/// connection on its node (a late event of a replaced connection is recognised and ignored). For a message,
/// <see cref="User"/> is the sender and <see cref="To"/> the addressee of a direct one.
/// </summary>
public sealed record SignalEvent(SignalEventKind Kind, string Bucket, string Channel, string User, long Connection, long ConnectedAtMs,
    ReadOnlyMemory<byte> Frame = default, string? To = null);
