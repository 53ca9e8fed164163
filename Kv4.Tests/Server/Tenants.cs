using System.Net;
using Kv4.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Kv4.Tests.Server;

/// <summary>
/// Accounts created through the API on a real server: top-level `elena` and `bob`, elena's sub-accounts `lily`
/// and `max`, and elena's admin `boss`. Their secrets are the ones the server generated.
/// </summary>
public sealed class Tenants
{
    public const string AdminPassword = "hunter22-pw";

    public string ElenaSecret { get; private set; } = "";
    public string BobSecret { get; private set; } = "";
    public string LilySecret { get; private set; } = "";
    public string MaxSecret { get; private set; } = "";

    /// <summary>Every login form of http-api.md §4 Credentials with the bucket it must act on.</summary>
    public IReadOnlyList<(string Name, string User, string Password, string Bucket)> Logins => [
        ("sys", "$sys", Kv4TestServer.SysSecret, "$sys"),
        ("elena", "elena", ElenaSecret, "elena"),
        ("bob", "bob", BobSecret, "bob"),
        ("lily", "elena#lily", LilySecret, "elena#lily"),
        ("lily-via-elena", "elena#lily", "!" + ElenaSecret, "elena#lily"),
        ("max", "elena#max", MaxSecret, "elena#max"),
        ("boss", "elena", "boss#" + AdminPassword, "elena"),
    ];

    public static async Task<Tenants> CreateAsync(Kv4TestServer server)
    {
        var tenants = new Tenants();
        using var sys = server.SystemClient();
        tenants.ElenaSecret = await CreateAccountAsync(sys, "elena", "elena@example.com");
        tenants.BobSecret = await CreateAccountAsync(sys, "bob", "bob@example.com");
        using var elena = server.Client("elena", tenants.ElenaSecret);
        tenants.LilySecret = await CreateAccountAsync(elena, "lily", "lily@example.com");
        tenants.MaxSecret = await CreateAccountAsync(elena, "max", "max@example.com");
        (await elena.PutReplyAsync("/_acc/users/admins", $"{{\"k\":\"boss\",\"v\":{{\"password\":\"{AdminPassword}\"}}}}")).IsOk();
        return tenants;
    }

    public static async Task<string> CreateAccountAsync(HttpClient client, string name, string email)
    {
        var reply = (await client.PutReplyAsync("/_acc/accounts", $"{{\"k\":\"{name}\",\"v\":{{\"email\":\"{email}\",\"password\":\"pw-{name}-123\"}}}}")).IsOk();
        return reply.V.GetProperty("secret").GetString()!;
    }
}

public static class StoreProbe
{
    /// <summary>How many records the engine has appended: it moves with every write, so an unchanged value proves nothing was written.</summary>
    public static long LastSequence(this Kv4TestServer server) =>
        server.Services.GetRequiredService<EngineLifetime>().Runtime!.Store!.AppendedRecords;

    public static async Task AssertNothingWrittenAsync(this Kv4TestServer server, Func<Task> action)
    {
        var before = server.LastSequence();
        await action();
        Assert.Equal(before, server.LastSequence());
    }
}

/// <summary>A real server with the real services and the <see cref="Tenants"/> accounts, shared by a test class.</summary>
public sealed class RealServerFixture : IAsyncLifetime
{
    public Kv4TestServer Server { get; private set; } = null!;

    public Tenants Tenants { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await Kv4TestServer.StartAsync();
        Tenants = await Tenants.CreateAsync(Server);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public HttpClient Elena() => Server.Client("elena", Tenants.ElenaSecret);
}
