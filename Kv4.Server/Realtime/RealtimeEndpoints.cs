namespace Kv4.Server.Realtime;

/// <summary>Registers and maps the realtime endpoints: the signal WebSocket `/ws/v2/{token}` and the watch WebSocket `/ws/watch`.</summary>
public static class RealtimeEndpoints
{
    public static IServiceCollection AddKv4Realtime(this IServiceCollection services)
    {
        services.AddSingleton<SignalEndpoint>();
        services.AddSingleton<WatchEndpoint>();
        return services;
    }

    /// <summary>Call after UseAuthentication (the watch socket takes header credentials) and before the API's catch-all.</summary>
    public static WebApplication MapKv4Realtime(this WebApplication app)
    {
        // Protocol-level pings keep idle sockets open through proxies; the signal idle timeout counts client frames only.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        // Kestrel waits for open requests when it stops; sockets and streams must end first, not at the shutdown timeout.
        var engine = app.Services.GetRequiredService<Kv4.Server.Hosting.EngineLifetime>();
        app.Lifetime.ApplicationStopping.Register(() =>
            engine.Runtime?.Realtime.Hub.CloseAll(Kv4.Services.Signal.SignalCloseReason.ServerStopping));
        var signal = app.Services.GetRequiredService<SignalEndpoint>();
        var watch = app.Services.GetRequiredService<WatchEndpoint>();
        app.Map("/ws/v2/{token}", (HttpContext context, string token) => signal.HandleAsync(context, token)).ExcludeFromDescription();
        app.Map("/ws/watch", watch.HandleWebSocketAsync).ExcludeFromDescription();
        return app;
    }
}
