using Kv4.Services;

namespace Kv4.Server.Hosting;

/// <summary>Opens the engine and builds the <see cref="Kv4Runtime"/> on it. Called once, off the request path, at start.</summary>
public interface IServiceRuntimeFactory
{
    Task<Kv4Runtime> OpenAsync(CancellationToken cancellationToken);
}
