using Kv4.Engine;
using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Services;
using Kv4.Services.Api;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Hosting;

/// <summary>
/// The production composition: opens the <see cref="Kv4Store"/> in the configured data directory and builds the
/// <see cref="Kv4Runtime"/> on it from the host's options. Services registered in DI as <see cref="IApiService"/>
/// are added to the catalog too.
/// </summary>
public sealed class StoreServiceRuntimeFactory(IOptions<Kv4Options> options, ServerSecrets secrets, IEnumerable<IApiService> extraServices,
    JwtSigningKey jwt, Microsoft.AspNetCore.Hosting.Server.IServer server, Kv4.Server.Metrics.CommitMetrics commitMetrics)
    : IServiceRuntimeFactory
{
    public async Task<Kv4Runtime> OpenAsync(CancellationToken cancellationToken)
    {
        var store = OpenStore(options.Value, commitMetrics);
        try
        {
            return await Kv4Runtime.CreateAsync(store, Settings(options.Value, secrets, jwt, server, extraServices), cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    public static Kv4Store OpenStore(Kv4Options o, Kv4.Server.Metrics.CommitMetrics? commitMetrics = null)
    {
        DataDirectorySecret.EnsureDataDirectory(o.DataDirFullPath);
        return Kv4Store.Open(new StoreOptions
        {
            DataDirectory = o.DataDirFullPath,
            Durability = o.Durability,
            CommitIntervalMs = o.CommitIntervalMs,
            MaxValueBytes = o.Api.MaxValueBytes,
            CommitObserved = commitMetrics is null ? null : commitMetrics.Observe,
        });
    }

    /// <summary>The runtime's settings from the host's options; tests start from these and swap in their fakes.</summary>
    public static RuntimeSettings Settings(Kv4Options o, ServerSecrets secrets, JwtSigningKey jwt,
        Microsoft.AspNetCore.Hosting.Server.IServer server, IEnumerable<IApiService>? extraServices = null) => new()
    {
        Core = new ServiceSettings { SystemSecret = secrets.SystemSecret, Login = o.Login },
        Platform = new PlatformSettings { Turn = o.Turn, External = o.External, Stats = o.Stats },
        Realtime = new RealtimeSettings
        {
            NodeId = o.Node.Id ?? Environment.MachineName.ToLowerInvariant(),
            // Without a configured public URL, `_host` answers the address this server listens on (known once it runs).
            PublicUrl = () => o.Node.PublicUrl
                ?? server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? Kv4ServerApp.DefaultUrl,
            Signal = o.Signal,
            Sessions = o.Sessions,
        },
        Signing = jwt.Credentials,
        Validation = jwt.ValidationParameters(),
        ExtraServices = extraServices ?? [],
    };
}
