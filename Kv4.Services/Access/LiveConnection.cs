using System.Net;
using Kv4.Services.Api;

namespace Kv4.Services.Access;

/// <summary>
/// One open stream or socket as <see cref="LiveConnections"/> knows it: the caller that was admitted, what it
/// reaches, from where, and how to end it. Ending is once, and the first reason wins.
/// </summary>
public sealed class LiveConnection : IDisposable
{
    private readonly LiveConnections _owner;
    private readonly Action<ErrorCode> _end;
    private int _endedBy = -1;

    internal LiveConnection(LiveConnections owner, long id, Caller caller, string path, Reach reach, IPAddress? client, Action<ErrorCode> end)
    {
        _owner = owner;
        _end = end;
        Id = id;
        Caller = caller;
        Path = path;
        Reach = reach;
        Client = client;
    }

    public long Id { get; }

    public Caller Caller { get; }

    /// <summary>The watched prefix, or the signal channel.</summary>
    public string Path { get; }

    public Reach Reach { get; }

    public IPAddress? Client { get; }

    /// <summary>Why admission ended it (`unauthorized`, `forbidden`); null while it may stay open.</summary>
    public ErrorCode? EndedBy => _endedBy < 0 ? null : (ErrorCode)_endedBy;

    /// <summary>
    /// Re-admits the caller now (a memory read) and ends the connection if it is refused: streams ask it before
    /// each delivery, so nothing reaches a connection whose identity is gone, even before a sweep got to it.
    /// </summary>
    public async ValueTask<bool> StillAdmittedAsync(CancellationToken cancellationToken = default)
    {
        if (EndedBy is not null) return false;
        if (await _owner.RecheckAsync(this, cancellationToken).ConfigureAwait(false) is not { } refused) return true;
        End(refused);
        return false;
    }

    internal void End(ErrorCode reason)
    {
        if (Interlocked.CompareExchange(ref _endedBy, (int)reason, -1) != -1) return;
        _owner.Forget(this);
        _end(reason);
    }

    /// <summary>The connection ended on its own (client gone, node stopping): it leaves the registry.</summary>
    public void Dispose() => _owner.Forget(this);
}
