namespace Kv4.Services.Sessions;

/// <summary>
/// Answers whether a login session may still be used. Called on every bearer request, so it must be cheap: over
/// this node's engine it is a memory read (sessions live in the engine, whose latest-value reads never touch disk).
/// </summary>
public interface ISessionRegistry
{
    /// <summary>True when the session was revoked, has expired, or does not exist (e.g. its bucket was deleted).</summary>
    ValueTask<bool> IsRevokedAsync(string bucket, string sessionId, CancellationToken cancellationToken = default);
}
