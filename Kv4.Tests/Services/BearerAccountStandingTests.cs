using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Services;

/// <summary>Over real HTTP: a bearer token stops working as soon as its account is deactivated or deleted, like a Basic login.</summary>
[Trait("Category", "Integration")]
public sealed class BearerAccountStandingTests
{
    [Fact]
    public async Task Deactivating_or_deleting_the_account_refuses_its_tokens_at_once()
    {
        await using var server = await Kv4TestServer.StartAsync();
        using var sys = server.SystemClient();
        var created = (await sys.PutReplyAsync("/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com","password":"elena pw 1"}}""")).IsOk();
        var secret = created.V.GetProperty("secret").GetString()!;
        using var elena = server.Client("elena", secret);
        (await elena.PutReplyAsync("/_acc/accounts", """{"k":"lily","v":{"email":"lily@example.com","password":"lily pw 1"}}""")).IsOk();

        using var anonymous = server.Client();
        async Task<HttpClient> BearerFor(string login, string password)
        {
            var grant = (await anonymous.PostReplyAsync("/_sess", JsonSerializer.Serialize(new { k = login, v = new { password } }))).IsOk().V;
            var client = server.Client();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", grant.GetProperty("access_token").GetString());
            return client;
        }
        using var elenaBearer = await BearerFor("elena", "elena pw 1");
        using var lilyBearer = await BearerFor("elena#lily", "lily pw 1");
        (await elenaBearer.GetReplyAsync("/_ns")).IsOk();
        (await lilyBearer.GetReplyAsync("/_ns")).IsOk();

        (await elena.PostReplyAsync("/_acc/accounts", """{"k":"lily","v":{"active":false}}""")).IsOk();
        (await lilyBearer.GetReplyAsync("/_ns")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await elenaBearer.GetReplyAsync("/_ns")).IsOk();
        (await elena.PostReplyAsync("/_acc/accounts", """{"k":"lily","v":{"active":true}}""")).IsOk();
        (await lilyBearer.GetReplyAsync("/_ns")).IsOk();

        (await sys.DeleteReplyAsync("/_acc/accounts?k=elena")).IsOk();
        (await elenaBearer.GetReplyAsync("/_ns")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        (await lilyBearer.GetReplyAsync("/_ns")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }
}
