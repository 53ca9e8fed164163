namespace Kv4.Services.Access;

/// <summary>
/// Raised after every acknowledged write that can take standing away from an admitted caller: an account,
/// sub-account or admin changed or deleted, a session revoked, a deny rule added. <see cref="LiveConnections"/>
/// listens and re-admits every open connection before the writer's reply goes out. A write that arrives from
/// elsewhere (another node's replica) raises it the same way when it is applied here.
/// </summary>
public sealed class StandingChanges
{
    private Func<ValueTask>[] _listeners = [];

    public void Subscribe(Func<ValueTask> listener) => _listeners = [.. _listeners, listener];

    /// <summary>Completes when every listener has: re-admission reads the store, which may answer later.</summary>
    public async ValueTask RaiseAsync()
    {
        foreach (var listener in _listeners)
            await listener().ConfigureAwait(false);
    }
}
