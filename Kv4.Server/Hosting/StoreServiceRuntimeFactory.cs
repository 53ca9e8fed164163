using Kv4.Engine;
using Kv4.Server.Configuration;
using Kv4.Server.Authentication;
using Kv4.Services;
using Kv4.Services.Api;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Hosting;

/// <summary>
/// The production composition: opens the <see cref="Kv4Store"/> in the configured data directory and builds
/// the services on it. Services registered in DI as <see cref="IApiService"/> are added to the catalog too.
/// </summary>
public sealed class StoreServiceRuntimeFactory(IOptions<Kv4Options> options, ServerSecrets secrets, IEnumerable<IApiService> extraServices,
    JwtSigningKey jwt, Microsoft.AspNetCore.Hosting.Server.IServer server, Kv4.Server.Metrics.CommitMetrics commitMetrics)
    : IServiceRuntimeFactory
{
    public ServiceRuntime Open(CancellationToken cancellationToken)
    {
        var o = options.Value;
        DataDirectorySecret.EnsureDataDirectory(o.DataDirFullPath);
        var store = Kv4Store.Open(new StoreOptions
        {
            DataDirectory = o.DataDirFullPath,
            Durability = o.Durability,
            CommitIntervalMs = o.CommitIntervalMs,
            MaxValueBytes = o.Api.MaxValueBytes,
            CommitObserved = commitMetrics.Observe,
        });
        try
        {
            var set = ServiceSet.CreateAsync(store, new ServiceSettings { SystemSecret = secrets.SystemSecret, Login = o.Login }, cancellationToken)
                .AsTask().GetAwaiter().GetResult();
            var platform = PlatformSet.Create(store, new PlatformSettings { Turn = o.Turn, External = o.External, Stats = o.Stats });
            var realtime = RealtimeSet.CreateAsync(store, RealtimeSettingsFrom(o), jwt.Credentials, jwt.ValidationParameters(),
                set.Authenticator.AuthenticatePasswordAsync, set.Namespaces, platform.HostDirectories, cancellationToken).GetAwaiter().GetResult();
            var services = set.Services.Concat(realtime.Services).Concat(platform.Services).Concat(extraServices);
            return new ServiceRuntime(new ServiceCatalog(services, platform.Fallback), set.Authenticator, set.AccessPolicy, store)
            {
                Platform = platform,
                Realtime = realtime,
            };
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private RealtimeSettings RealtimeSettingsFrom(Kv4Options o) => new()
    {
        NodeId = o.Node.Id ?? Environment.MachineName.ToLowerInvariant(),
        // Without a configured public URL, `_host` answers the address this server listens on (known once it runs).
        PublicUrl = () => o.Node.PublicUrl
            ?? server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? Kv4ServerApp.DefaultUrl,
        Signal = o.Signal,
        Sessions = o.Sessions,
    };
}
