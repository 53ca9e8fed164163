namespace Kv4.Services.Signal;

/// <summary>Limits of the signal WebSocket (configuration section `Kv4:Signal`).</summary>
public sealed class SignalOptions
{
    /// <summary>Frames waiting to be sent to one connection; a connection whose queue is full is disconnected.</summary>
    public int SendQueueFrames { get; set; } = 1024;

    /// <summary>The largest text frame a client may send; a larger one closes the connection with 1008.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>A connection that sends nothing (the Xirsys client pings every 800 ms) for this long is closed.</summary>
    public int IdleTimeoutSeconds { get; set; } = 60;
}
