using System.Net;

namespace Kv4.Tests.Server;

/// <summary>Stop the server and start a new one on the same data directory: accounts, secrets, values and histories are all there.</summary>
[Trait("Category", "Integration")]
public sealed class RestartPersistenceTests
{
    [Fact]
    public async Task Accounts_secrets_values_and_histories_survive_a_restart()
    {
        await using var server = await Kv4TestServer.StartAsync();
        var tenants = await Tenants.CreateAsync(server);
        string version;
        using (var elena = server.Client("elena", tenants.ElenaSecret))
        {
            (await elena.PutReplyAsync("/_data/keep", "{\"k\":\"doc\",\"v\":{\"n\":1},\"k2\":\"doc-k2\"}")).IsOk();
            version = (await elena.PutReplyAsync("/_data/keep", "{\"k\":\"doc\",\"v\":{\"n\":2},\"k2\":\"doc-k2\"}")).IsOk().V.GetProperty("_ver_").GetString()!;
            (await elena.PutReplyAsync("/_data/keep", "{\"k\":\"gone\",\"v\":1}")).IsOk();
            (await elena.DeleteReplyAsync("/_data/keep?k=gone")).IsOk();
            (await elena.PutReplyAsync("/_ns/rooms/lobby")).IsOk();
            (await elena.PutReplyAsync("/_auth/private", "{\"k\":\"203.0.113.0/24\"}")).IsOk();
        }
        using (var lily = server.Client("elena#lily", tenants.LilySecret))
            (await lily.PutReplyAsync("/_data/mine", "{\"k\":\"x\",\"v\":\"lily's\"}")).IsOk();

        await server.RestartAsync();

        foreach (var login in tenants.Logins)
        {
            using var client = server.Client(login.User, login.Password);
            (await client.GetReplyAsync("/_data")).IsOk();
        }
        using (var elena = server.Client("elena", tenants.ElenaSecret))
        {
            var doc = (await elena.GetReplyAsync("/_data/keep?k=doc")).IsOk();
            Assert.Equal(2, doc.V.GetProperty("n").GetInt32());
            Assert.Equal(version, doc.V.GetProperty("_ver_").GetString());
            Assert.Equal(2, (await elena.GetReplyAsync("/_data/keep?k2=doc-k2")).IsOk().V.GetProperty("n").GetInt32());
            var history = (await elena.GetReplyAsync("/_data/keep?time_series=1&k=doc")).IsOk().V.EnumerateArray().ToArray();
            Assert.Equal([2, 1], history.Select(e => e[2].GetProperty("n").GetInt32()));
            (await elena.GetReplyAsync("/_data/keep?k=gone")).IsError("not_found", HttpStatusCode.NotFound);
            Assert.Equal(2, (await elena.GetReplyAsync("/_data/keep?time_series=1&k=gone")).IsOk().V.GetArrayLength());
            Assert.Contains("rooms/lobby", (await elena.GetReplyAsync("/_ns")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
            Assert.Contains("203.0.113.0/24", (await elena.GetReplyAsync("/_auth/private")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
            var account = (await elena.GetReplyAsync("/_acc/accounts?k2=lily@example.com")).IsOk();
            Assert.Equal("lily", account.V.GetProperty("username").GetString());
            Assert.False(account.V.TryGetProperty("secret", out _));
        }
        using (var lily = server.Client("elena#lily", tenants.LilySecret))
            Assert.Equal("lily's", (await lily.GetReplyAsync("/_data/mine?k=x")).IsOk().V.GetString());
        using (var wrong = server.Client("elena", tenants.BobSecret))
            (await wrong.GetReplyAsync("/_data")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }
}
