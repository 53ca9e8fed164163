using System.Net;
using Kv4.Tests.Server;

namespace Kv4.Tests.Services;

/// <summary>Over real HTTP: an `_auth` rule refuses the client with `forbidden` on that path and below, in every layer of the bucket only.</summary>
public sealed class DenyOverHttpTests
{
    [Fact]
    public async Task A_denied_address_is_forbidden_below_the_path_in_every_layer_until_lifted()
    {
        await using var server = await Kv4TestServer.StartAsync();
        using var sys = server.SystemClient();
        var elenaSecret = (await sys.PutReplyAsync("/_acc/accounts", """{"k":"elena","v":{"email":"elena@example.com"}}""")).IsOk().V.GetProperty("secret").GetString()!;
        var bobSecret = (await sys.PutReplyAsync("/_acc/accounts", """{"k":"bob","v":{"email":"bob@example.com"}}""")).IsOk().V.GetProperty("secret").GetString()!;
        using var elena = server.Client("elena", elenaSecret);
        using var bob = server.Client("bob", bobSecret);
        (await elena.PutReplyAsync("/_data/private/x", """{"k":"a","v":1}""")).IsOk();

        (await elena.PutReplyAsync("/_auth/private", """{"k":"127.0.0.0/8"}""")).IsOk();

        (await elena.GetReplyAsync("/_data/private/x?k=a")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.PutReplyAsync("/_data/private", """{"k":"b","v":1}""")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.PutReplyAsync("/_ns/private/room")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.GetReplyAsync("/_auth/private")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.GetReplyAsync("/_data/privately?k=a")).IsError("not_found", HttpStatusCode.NotFound);
        (await elena.PutReplyAsync("/_data/public", """{"k":"a","v":1}""")).IsOk();
        (await bob.PutReplyAsync("/_data/private/x", """{"k":"a","v":2}""")).IsOk();

        // The rule's own path is denied too, so it is lifted from above: DELETE /_auth without k clears the bucket's rules.
        Assert.Equal(1, (await elena.DeleteReplyAsync("/_auth")).IsOk().V.GetInt32());
        Assert.Equal(1, (await elena.GetReplyAsync("/_data/private/x?k=a")).IsOk().V.GetInt32());
        (await elena.PutReplyAsync("/_data/private", """{"k":"b","v":1}""")).IsOk();
    }
}
