namespace Kv4.Tests.Server;

/// <summary>One real server with <see cref="FakeServices"/>, shared by the host pipeline tests.</summary>
public sealed class FakeServerFixture : IAsyncLifetime
{
    public FakeServices Fake { get; } = new();

    public Kv4TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await Kv4TestServer.StartAsync(configure: FakeServices.Install(Fake));

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
