using System.Collections.Concurrent;
using System.Net;
using Kv4.Services.Api;

namespace Kv4.Services.Access;

/// <summary>
/// Every live connection of this node (watch streams, signal sockets) with the caller that opened it, so that a
/// connection ends with its identity. Each <see cref="StandingChanges"/> signal re-admits all of them before the
/// write that raised it is answered, and a sweep each second catches what no signal announced (a token's session
/// expiring, a change applied from another node). Example, carol holding an SSE watch and a signal socket:
/// <code>
/// _open = { 7 → (carol std=q3J0, "private", Watch, 127.0.0.1), 8 → (carol std=q3J0, "room", Path, 127.0.0.1) }
/// DELETE /_acc/accounts?k=carol  → Raise → RecheckAsync(7), RecheckAsync(8): unauthorized → End(7), End(8); _open = {}
/// PUT /_acc/accounts {"k":"carol"} → a new incarnation: nothing of the old carol's is admitted again
/// </code>
/// Ending is the door's business (a final SSE error event, a WebSocket close with a code); it must not block.
/// </summary>
public sealed class LiveConnections : IDisposable
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(1);

    private readonly Admission _admission;
    private readonly ConcurrentDictionary<long, LiveConnection> _open = new();
    private readonly ITimer _timer;
    private long _nextId;

    public LiveConnections(Admission admission, StandingChanges changes, TimeProvider clock)
    {
        _admission = admission;
        changes.Subscribe(SweepAsync);
        // A failed sweep fails as a timer callback that throws would: on the thread pool.
        _timer = clock.CreateTimer(async _ => await SweepAsync().ConfigureAwait(false), null, SweepEvery, SweepEvery);
    }

    public int Count => _open.Count;

    /// <summary>Registers an admitted connection; <paramref name="end"/> is called once if admission later refuses it.</summary>
    public LiveConnection Open(Caller caller, string path, Reach reach, IPAddress? client, Action<ErrorCode> end)
    {
        var connection = new LiveConnection(this, Interlocked.Increment(ref _nextId), caller, path, reach, client, end);
        _open[connection.Id] = connection;
        return connection;
    }

    /// <summary>Re-admits every open connection and ends those refused.</summary>
    public async ValueTask SweepAsync()
    {
        foreach (var connection in _open.Values)
            if (await RecheckAsync(connection).ConfigureAwait(false) is { } refused) connection.End(refused);
    }

    internal ValueTask<ErrorCode?> RecheckAsync(LiveConnection connection, CancellationToken cancellationToken = default) =>
        _admission.RecheckAsync(connection.Caller, connection.Path, connection.Reach, connection.Client, cancellationToken);

    internal void Forget(LiveConnection connection) => _open.TryRemove(connection.Id, out _);

    public void Dispose() => _timer.Dispose();
}
