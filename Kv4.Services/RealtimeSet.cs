using Kv4.Services.Api;
using Kv4.Services.Hosts;
using Kv4.Services.Sessions;
using Kv4.Services.Signal;
using Kv4.Services.Storage;
using Kv4.Services.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Kv4.Services;

/// <summary>
/// The realtime part of <see cref="Kv4Runtime"/>: `_token`, `_sess`, `_host`, `_subs`, and what the WebSocket and
/// watch endpoints need (the signal hub, presence, the token authority, the store).
/// Built once the store is open: it first removes the presence entries a crash of this node left behind.
/// </summary>
public sealed class RealtimeSet
{
    private RealtimeSet(SignalHub hub, PresenceRecorder presence, SessionStore sessions, TokenAuthority tokens, IReadOnlyList<IApiService> services)
    {
        Hub = hub;
        Presence = presence;
        Sessions = sessions;
        Tokens = tokens;
        Services = services;
    }

    public SignalHub Hub { get; }

    public PresenceRecorder Presence { get; }

    /// <summary>Login sessions: admission asks it whether a token's session was revoked.</summary>
    public SessionStore Sessions { get; }

    public TokenAuthority Tokens { get; }

    /// <summary>`_token`, `_sess`, `_host`, `_subs`.</summary>
    public IReadOnlyList<IApiService> Services { get; }

    /// <param name="passwordLogin">The accounts' password login (for `_sess`).</param>
    /// <param name="channels">Whether a (bucket, path) node exists in `_ns` (for `_token`).</param>
    /// <param name="hostDirectories">Host sources beyond this node's own signal endpoint (TURN pool, external registry, cluster).</param>
    /// <param name="stats">Where the hub records `router:sub` and `router:pkt`.</param>
    public static async Task<RealtimeSet> CreateAsync(IStore store, RealtimeSettings settings,
        SigningCredentials signing, TokenValidationParameters validation,
        Func<string, string, System.Net.IPAddress?, CancellationToken, ValueTask<Kv4.Services.Accounts.LoginResult>> passwordLogin, IChannelDirectory channels,
        IEnumerable<IHostDirectory> hostDirectories, Kv4.Services.Access.StandingChanges changes, Kv4.Services.Stats.IStatsSink? stats = null,
        CancellationToken cancellationToken = default)
    {
        var hub = new SignalHub(settings.Signal, stats);
        var presence = new PresenceRecorder(store, hub, settings.NodeId);
        hub.UseRelay(settings.SignalRelay?.Invoke(hub, presence) ?? new LocalSignalRelay(settings.NodeId));
        await presence.RemoveStaleAsync(cancellationToken).ConfigureAwait(false);
        var sessions = new SessionStore(store, changes, settings.Clock);
        var tokens = new TokenAuthority(signing, validation, sessions, settings.Clock);
        var directories = new List<IHostDirectory> { settings.Hosts ?? new LocalHostDirectory(settings.NodeId, settings.PublicUrl, () => hub.ConnectionCount) };
        directories.AddRange(hostDirectories);
        IApiService[] services =
        [
            new TokenService(tokens, channels),
            new SessionService(passwordLogin, sessions, tokens, settings.Sessions),
            new HostService(directories),
            new SubsService(hub, presence),
        ];
        return new RealtimeSet(hub, presence, sessions, tokens, services);
    }
}

/// <summary>What <see cref="RealtimeSet"/> is built with (bound by the host from `Kv4:Node`, `Kv4:Signal`, `Kv4:Sessions`).</summary>
public sealed record RealtimeSettings
{
    /// <summary>This node's id, stamped as `origin` on presence entries; must stay the same across restarts.</summary>
    public required string NodeId { get; init; }

    /// <summary>This node's public base URL (`Kv4:Node:PublicUrl`), asked on first use.</summary>
    public required Func<string> PublicUrl { get; init; }

    public SignalOptions Signal { get; init; } = new();

    /// <summary>A cluster's other nodes, made for the hub and presence of this node; none for a single node.</summary>
    public Func<SignalHub, PresenceRecorder, ISignalRelay>? SignalRelay { get; init; }

    /// <summary>Where `_host` finds "signal" and "api" hosts; this node alone when null.</summary>
    public IHostDirectory? Hosts { get; init; }

    public SessionOptions Sessions { get; init; } = new();

    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
