namespace Kv4.Tests.Cli;

/// <summary>One server process shared by a test class; each test makes its own account, so tests never see each other's data.</summary>
public sealed class CliServerFixture : IAsyncLifetime
{
    private CliServer? _server;

    internal CliServer Server => _server ?? throw new InvalidOperationException("the server is not started");

    public async Task InitializeAsync() => _server = await CliServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    /// <summary>A new account; answers its name and the kv4 environment for it.</summary>
    internal async Task<(string Name, string Secret, Dictionary<string, string> Env)> AccountAsync()
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..12];
        var secret = await Server.CreateAccountAsync(name);
        return (name, secret, Server.Login(name, secret));
    }
}
