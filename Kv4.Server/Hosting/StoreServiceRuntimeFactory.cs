using Kv4.Engine;
using Kv4.Server.Configuration;
using Kv4.Services;
using Kv4.Services.Access;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Microsoft.Extensions.Options;

namespace Kv4.Server.Hosting;

/// <summary>
/// The production composition: opens the <see cref="Kv4Store"/> in the configured data directory and builds
/// the services on it. Services registered in DI as <see cref="IApiService"/> are added to the catalog too.
/// </summary>
public sealed class StoreServiceRuntimeFactory(IOptions<Kv4Options> options, ServerSecrets secrets, IEnumerable<IApiService> extraServices)
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
        });
        try
        {
            // Until the services are merged the catalog holds only the extra services and nobody can log in.
            _ = secrets.SystemSecret;
            var platform = PlatformSet.Create(store, new PlatformSettings { Turn = o.Turn, External = o.External, Stats = o.Stats });
            return new ServiceRuntime(new ServiceCatalog(extraServices.Concat(platform.Services), platform.Fallback), new NobodyAuthenticator(),
                new NothingDenied(), store) { Platform = platform };
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    private sealed class NobodyAuthenticator : ICallerAuthenticator
    {
        public ValueTask<Caller?> AuthenticateAsync(string userName, string password, CancellationToken cancellationToken = default) => new((Caller?)null);
    }

    private sealed class NothingDenied : IAccessPolicy
    {
        public bool IsDenied(string bucket, string path, System.Net.IPAddress address) => false;
    }
}
