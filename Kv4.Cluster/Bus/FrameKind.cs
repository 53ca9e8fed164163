namespace Kv4.Cluster.Bus;

/// <summary>The kinds of frame on a bus connection.</summary>
internal enum FrameKind : byte
{
    /// <summary>A call the other end answers with a <see cref="Reply"/> or <see cref="Failure"/> of the same id.</summary>
    Request = 1,
    Reply = 2,
    /// <summary>The call failed on the other end: the payload is a <see cref="BusFault"/>.</summary>
    Failure = 3,
    /// <summary>No answer expected (heartbeats, notices).</summary>
    Notice = 4,
}
