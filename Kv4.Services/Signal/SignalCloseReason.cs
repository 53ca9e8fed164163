namespace Kv4.Services.Signal;

/// <summary>Why the server ends a signal connection; the host maps each to a WebSocket close status.</summary>
public enum SignalCloseReason
{
    /// <summary>The client closed or the socket broke.</summary>
    ClientGone,
    /// <summary>A second connection of the same user took its place.</summary>
    Replaced,
    /// <summary>`DELETE /_subs/&lt;channel&gt;` kicked it.</summary>
    Kicked,
    /// <summary>Nothing (not even `ping`) arrived within the idle timeout.</summary>
    IdleTimeout,
    /// <summary>A frame over the maximum size (closed with 1008, policy violation).</summary>
    FrameTooLarge,
    /// <summary>Its send queue filled up: it reads slower than the channel talks.</summary>
    SlowConsumer,
    /// <summary>The node is shutting down.</summary>
    ServerStopping,
    /// <summary>The identity that minted its token is gone or changed: account deleted or inactive, secret or password changed, session revoked.</summary>
    CredentialsRevoked,
    /// <summary>A deny rule now covers its address on its channel.</summary>
    Denied,
}
