using MessagePack;

namespace Kv4.Cluster.Realtime;

/// <summary>
/// Events of a node's signal members, sent in order to another node (a notice, no answer). <see cref="Incarnation"/>
/// names the sending process (a restarted node starts a new one); each event carries its number in the stream from
/// that process to this receiver, so a lost batch shows as a gap.
/// </summary>
[MessagePackObject]
public sealed class SignalBatch : Bus.BusMessage
{
    [Key(0)] public long Incarnation { get; set; }
    [Key(1)] public SignalWireEvent[] Events { get; set; } = [];
}

/// <summary>One <see cref="Kv4.Services.Signal.SignalEvent"/> on the wire.</summary>
[MessagePackObject]
public sealed class SignalWireEvent
{
    [Key(0)] public long Seq { get; set; }
    [Key(1)] public byte Kind { get; set; }
    [Key(2)] public string Bucket { get; set; } = "";
    [Key(3)] public string Channel { get; set; } = "";
    [Key(4)] public string User { get; set; } = "";
    [Key(5)] public long Connection { get; set; }
    [Key(6)] public long ConnectedAtMs { get; set; }
    [Key(7)] public byte[]? Frame { get; set; }
    [Key(8)] public string? To { get; set; }
}

/// <summary>Who is on a channel on the node asked (a node opening the channel asks every other).</summary>
[MessagePackObject]
public sealed class SignalSnapshotRequest : Bus.BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Channel { get; set; } = "";
}

/// <summary>
/// The answer: the node's members of the channel, and <see cref="Seq"/>, the number of the last event it had sent to
/// the asker when it looked: the asker applies only the events after it.
/// </summary>
[MessagePackObject]
public sealed class SignalSnapshot : Bus.BusMessage
{
    [Key(0)] public long Incarnation { get; set; }
    [Key(1)] public long Seq { get; set; }
    [Key(2)] public SignalWireMember[] Members { get; set; } = [];
}

[MessagePackObject]
public sealed class SignalWireMember
{
    [Key(0)] public string User { get; set; } = "";
    [Key(1)] public long Connection { get; set; }
    [Key(2)] public long ConnectedAtMs { get; set; }
}

/// <summary>`DELETE /_subs` on another node: kick the connections at that topic path here.</summary>
[MessagePackObject]
public sealed class SignalKick : Bus.BusMessage
{
    [Key(0)] public string Bucket { get; set; } = "";
    [Key(1)] public string Path { get; set; } = "";
    [Key(2)] public string? User { get; set; }
}

/// <summary>The (topic path, user) pairs a <see cref="SignalKick"/> removed.</summary>
[MessagePackObject]
public sealed class SignalKicked : Bus.BusMessage
{
    [Key(0)] public string[] Paths { get; set; } = [];
    [Key(1)] public string[] Users { get; set; } = [];
}
