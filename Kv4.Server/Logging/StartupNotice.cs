using Kv4.Server.Configuration;
using Kv4.Server.Hosting;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Kv4.Server.Logging;

/// <summary>
/// Tells whoever started the server where the `$sys` secret comes from (never the secret itself) and, while no
/// account exists, the one curl that creates the first. On a first start with the defaults it reads:
/// <code>
/// the $sys secret is in /srv/kv4-data/sys.secret (read it with: cat /srv/kv4-data/sys.secret)
/// no account yet; create the first one with:
///   curl -s -u "\$sys:$(cat '/srv/kv4-data/sys.secret')" -X PUT "http://127.0.0.1:4000/_acc/accounts" -d '{"k":"elena","v":{"email":"elena@example.com"}}'
/// </code>
/// </summary>
public sealed partial class StartupNotice(
    ServerSecrets secrets, EngineLifetime engine, IServer server, IHostApplicationLifetime application, ILogger<StartupNotice> log)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Kestrel's bound addresses (port 0 resolved) and the engine's opening exist once the host has started.
        application.ApplicationStarted.Register(() => _ = TellAsync());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task TellAsync()
    {
        try
        {
            var secret = secrets.SystemSecretSource switch
            {
                SecretSource.EnvironmentVariable => "$" + ServerSecrets.SysSecretEnvironmentVariable,
                SecretSource.Configuration => "<Kv4:SysSecret>",
                _ => $"$(cat {ShellQuote(secrets.SystemSecretFile)})",
            };
            switch (secrets.SystemSecretSource)
            {
                case SecretSource.EnvironmentVariable: LogSecretFromEnvironment(ServerSecrets.SysSecretEnvironmentVariable); break;
                case SecretSource.Configuration: LogSecretFromConfiguration(); break;
                default: LogSecretInFile(secrets.SystemSecretFile); break;
            }
            await engine.WhenOpenAsync();
            if (engine.Runtime?.Store is not { } store
                || store.ListKeys(Caller.SystemBucket, AccountDirectory.Layer, AccountDirectory.AccountsPath).Count > 0) return;
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            LogFirstAccount(FirstAccountCommand(BaseUrl(addresses), secret));
        }
        catch (Exception) when (application.ApplicationStopping.IsCancellationRequested)
        {
            // Stopped before the engine answered: nobody is there to read the notice.
        }
    }

    /// <summary>The address a local curl reaches: an http one first, a wildcard host as localhost.</summary>
    public static string BaseUrl(IEnumerable<string> addresses)
    {
        var all = addresses.ToList();
        var chosen = all.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? all.FirstOrDefault() ?? Kv4ServerApp.DefaultUrl;
        var uri = new UriBuilder(chosen.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::") uri.Host = "localhost";
        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>The `_acc` request of docs/api.md that creates a top-level account, with <paramref name="secret"/> as shell text.</summary>
    public static string FirstAccountCommand(string baseUrl, string secret) =>
        $$$"""curl -s -u "\$sys:{{{secret}}}" -X PUT "{{{baseUrl}}}/_acc/accounts" -d '{"k":"elena","v":{"email":"elena@example.com"}}'""";

    private static string ShellQuote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [LoggerMessage(LogLevel.Information, "the $sys secret comes from the {Variable} environment variable")]
    private partial void LogSecretFromEnvironment(string variable);

    [LoggerMessage(LogLevel.Information, "the $sys secret comes from configuration (Kv4:SysSecret)")]
    private partial void LogSecretFromConfiguration();

    [LoggerMessage(LogLevel.Information, "the $sys secret is in {SecretFile} (read it with: cat {SecretFile})")]
    private partial void LogSecretInFile(string secretFile);

    [LoggerMessage(LogLevel.Information, "no account yet; create the first one with:\n  {Command}")]
    private partial void LogFirstAccount(string command);
}
