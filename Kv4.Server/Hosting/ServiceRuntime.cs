using Kv4.Engine;
using Kv4.Services.Access;
using Kv4.Services.Accounts;
using Kv4.Services.Api;

namespace Kv4.Server.Hosting;

/// <summary>
/// Everything the endpoint calls once the engine is open: the services by prefix, the authenticator and the
/// IP access policy, and the store they share. Built once by <see cref="IServiceRuntimeFactory"/>; disposing
/// it flushes and closes the store.
/// </summary>
public sealed class ServiceRuntime(ServiceCatalog catalog, ICallerAuthenticator authenticator, IAccessPolicy accessPolicy, Kv4Store? store)
    : IAsyncDisposable
{
    public ServiceCatalog Catalog { get; } = catalog;

    public ICallerAuthenticator Authenticator { get; } = authenticator;

    public IAccessPolicy AccessPolicy { get; } = accessPolicy;

    /// <summary>The store; null only for host tests that run fake services without an engine.</summary>
    public Kv4Store? Store { get; } = store;

    /// <summary>`_turn`, `_svc`, `_stats`, `_cfg` and the external-service forwarding; its stats recorder hears every call.</summary>
    public Kv4.Services.PlatformSet? Platform { get; init; }

    /// <summary>Tokens, sessions, the signal hub and presence (null in host tests without an engine).</summary>
    public Kv4.Services.RealtimeSet? Realtime { get; init; }

    /// <summary>
    /// Whether a caller that a token vouched for earlier may still act: its session is not revoked and its account
    /// (sub-account, admin) still exists and is active. Memory reads only; asked on every bearer request and signal join.
    /// </summary>
    public bool AcceptsTokenCaller(Caller caller, IEnumerable<System.Security.Claims.Claim> claims) =>
        (Authenticator is not Kv4.Services.Accounts.CallerAuthenticator accounts || accounts.IsActive(caller))
        && (Realtime is null || !Realtime.Tokens.IsRevoked(claims));

    public async ValueTask DisposeAsync()
    {
        Realtime?.Hub.CloseAll(Kv4.Services.Signal.SignalCloseReason.ServerStopping);
        // Stats still in memory are flushed while the store is open.
        if (Platform is not null) await Platform.DisposeAsync();
        if (Store is null) return;
        await Store.FlushAsync();
        await Store.DisposeAsync();
    }
}
