namespace Kv4.Server.Hosting;

/// <summary>Opens the engine and builds the services on it. Called once, off the request path, at start.</summary>
public interface IServiceRuntimeFactory
{
    ServiceRuntime Open(CancellationToken cancellationToken);
}
