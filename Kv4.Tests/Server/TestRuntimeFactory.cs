using Kv4.Server.Authentication;
using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Kv4.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kv4.Tests.Server;

/// <summary>
/// The production runtime (<see cref="Kv4Runtime"/>) on the test server's own data directory, with the test's fakes
/// swapped in through <see cref="RuntimeSettings"/>: the host is tested against the one composition root it runs.
/// </summary>
public sealed class TestRuntimeFactory(IServiceProvider services, Func<RuntimeSettings, RuntimeSettings> adjust) : IServiceRuntimeFactory
{
    public static Action<WebApplicationBuilder> Install(Func<RuntimeSettings, RuntimeSettings> adjust) =>
        builder => builder.Services.AddSingleton<IServiceRuntimeFactory>(sp => new TestRuntimeFactory(sp, adjust));

    public async Task<Kv4Runtime> OpenAsync(CancellationToken cancellationToken)
    {
        var options = services.GetRequiredService<IOptions<Kv4Options>>().Value;
        var settings = adjust(StoreServiceRuntimeFactory.Settings(options, services.GetRequiredService<ServerSecrets>(),
            services.GetRequiredService<JwtSigningKey>(), services.GetRequiredService<IServer>()));
        var store = StoreServiceRuntimeFactory.OpenStore(options);
        try
        {
            return await Kv4Runtime.CreateAsync(store, settings, cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }
}
