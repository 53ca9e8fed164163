using System.Net;
using Kv4.Tests.Server;

namespace Kv4.Tests.Services;

/// <summary>Over real HTTP: an `_auth` rule refuses the client with `forbidden` on that path and below, in every layer of the bucket only.</summary>
[Trait("Category", "Integration")]
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

        (await elena.PutReplyAsync("/_auth/private", """{"k":"127.0.0.1"}""")).IsOk();

        (await elena.GetReplyAsync("/_data/private/x?k=a")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.PutReplyAsync("/_data/private", """{"k":"b","v":1}""")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.PutReplyAsync("/_ns/private/room")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.GetReplyAsync("/_auth/private")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.GetReplyAsync("/_data/privately?k=a")).IsError("not_found", HttpStatusCode.NotFound);
        (await elena.PutReplyAsync("/_data/public", """{"k":"a","v":1}""")).IsOk();
        (await bob.PutReplyAsync("/_data/private/x", """{"k":"a","v":2}""")).IsOk();

        // Nor can the denied client reach the subtree from above: deleting a tree that holds the denied path, or
        // lifting the rules from the root, is refused and removes nothing.
        (await elena.DeleteReplyAsync("/_data")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.DeleteReplyAsync("/_ns")).IsError("forbidden", HttpStatusCode.Forbidden);
        (await elena.DeleteReplyAsync("/_auth")).IsError("forbidden", HttpStatusCode.Forbidden);
        // A watch of a path above streams the changes below it: refused too, over SSE and over the WebSocket.
        (await elena.GetReplyAsync("/_data?watch=1")).IsError("forbidden", HttpStatusCode.Forbidden);
        var wsWatch = new Uri(server.BaseAddress.ToString().Replace("http://", "ws://") + "ws/watch?l=data&path=");
        Assert.Equal(HttpStatusCode.Forbidden, await Kv4.Tests.Realtime.SignalClient.RefusalAsync(wsWatch,
            o => o.SetRequestHeader("Authorization", Kv4.Server.Authentication.BasicCredential.Header("elena", elenaSecret))));
        Assert.Equal(1, (await elena.DeleteReplyAsync("/_data/public?k=a")).IsOk().V.GetInt32()); // one key above: fine

        // From another address the owner lifts it (DELETE /_auth without k clears the bucket's rules).
        using var elsewhere = server.ClientFrom(IPAddress.Parse("127.0.0.2"), "elena", elenaSecret);
        (await elsewhere.GetReplyAsync("/_data/private/x?k=a")).IsOk();
        Assert.Equal(1, (await elsewhere.DeleteReplyAsync("/_auth")).IsOk().V.GetInt32());
        Assert.Equal(1, (await elena.GetReplyAsync("/_data/private/x?k=a")).IsOk().V.GetInt32());
        (await elena.PutReplyAsync("/_data/private", """{"k":"b","v":1}""")).IsOk();
    }
}
