using System.Net;

namespace Kv4.Tests.Server;

/// <summary>
/// The isolation matrix: every login form (top-level accounts, sub-accounts both ways, the `!` form, an admin,
/// `$sys`) writes a marker into its own bucket at the same path, key and k2 pattern; then no login can read,
/// list, look up by k2, see the history of, delete, or write into any other bucket.
/// </summary>
[Trait("Category", "Integration")]
public sealed class TenantIsolationTests(RealServerFixture fixture) : IClassFixture<RealServerFixture>
{
    private const string SharedPath = "/_data/shared/place";

    private HttpClient ClientFor((string Name, string User, string Password, string Bucket) login) => fixture.Server.Client(login.User, login.Password);

    private static string Marker(string bucket) => "owned-by-" + bucket;

    private static string SecondaryKey(string bucket) => "k2-" + bucket;

    /// <summary>A path segment naming the bucket (`elena#lily` → `elena-lily`; `$sys` → `sys`).</summary>
    private static string Slug(string bucket) => bucket.Replace('#', '-').Replace("$", "");

    [Fact]
    public async Task No_credential_reaches_another_bucket()
    {
        var logins = fixture.Tenants.Logins;
        var buckets = logins.Select(l => l.Bucket).Distinct().ToArray();
        Assert.Equal(5, buckets.Length);

        // Each bucket's owner writes its marker (twice, so there is a history) and a tree to delete.
        foreach (var bucket in buckets)
        {
            using var owner = ClientFor(logins.First(l => l.Bucket == bucket));
            (await owner.PutReplyAsync(SharedPath, $"{{\"k\":\"secret\",\"v\":\"draft\",\"k2\":\"{SecondaryKey(bucket)}\"}}")).IsOk();
            (await owner.PutReplyAsync(SharedPath, $"{{\"k\":\"secret\",\"v\":\"{Marker(bucket)}\",\"k2\":\"{SecondaryKey(bucket)}\"}}")).IsOk();
            (await owner.PutReplyAsync("/_data/shared/tree/leaf", $"{{\"k\":\"keep\",\"v\":\"{Marker(bucket)}\"}}")).IsOk();
            (await owner.PutReplyAsync("/_ns/shared/node")).IsOk();
            // And a namespace node and a data path that name their bucket, to see whether they leak.
            (await owner.PutReplyAsync("/_ns/only/" + Slug(bucket))).IsOk();
            (await owner.PutReplyAsync("/_data/mine/" + Slug(bucket), $"{{\"k\":\"x\",\"v\":\"{Marker(bucket)}\"}}")).IsOk();
        }

        foreach (var login in logins)
        {
            using var client = ClientFor(login);
            var own = login.Bucket;

            // Read: the same address names the caller's own entry.
            Assert.Equal(Marker(own), (await client.GetReplyAsync(SharedPath + "?k=secret")).IsOk().V.GetString());

            // List: only the caller's keys.
            var keys = (await client.GetReplyAsync(SharedPath)).IsOk().V.EnumerateArray().Select(e => e.GetString()!).ToArray();
            var allowed = logins.Where(l => l.Bucket == own).Select(l => "written-by-" + l.Name).Append("secret").ToHashSet();
            Assert.All(keys, k => Assert.Contains(k, allowed));

            // k2: another bucket's secondary key is not found; its own is.
            foreach (var other in buckets.Where(b => b != own))
                (await client.GetReplyAsync(SharedPath + "?k2=" + Uri.EscapeDataString(SecondaryKey(other)))).IsError("not_found", HttpStatusCode.NotFound);
            Assert.Equal(Marker(own), (await client.GetReplyAsync(SharedPath + "?k2=" + Uri.EscapeDataString(SecondaryKey(own)))).IsOk().V.GetString());

            // History: only the caller's own versions.
            var history = (await client.GetReplyAsync(SharedPath + "?time_series=1&k=secret")).IsOk().V.EnumerateArray()
                .Select(e => e[2].GetString()).ToArray();
            Assert.All(history, v => Assert.True(v == Marker(own) || v == "draft" || v is null, $"{login.Name} saw {v}"));
            var pathHistory = (await client.GetReplyAsync(SharedPath + "?time_series=1&format=full")).IsOk().V.EnumerateArray().ToArray();
            Assert.All(pathHistory, e => Assert.Contains(e.GetProperty("by").GetString(), logins.Where(l => l.Bucket == own).Select(ActorOf)));

            // Discovery and namespace show only the caller's bucket.
            var ns = (await client.GetReplyAsync("/_ns")).IsOk().V.EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Contains("shared/node", ns);
            Assert.Equal(["only/" + Slug(own)], ns.Where(n => n!.StartsWith("only/", StringComparison.Ordinal)));
            var dataPaths = (await client.GetReplyAsync("/_ds?l=data")).IsOk().V.EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Equal(["mine/" + Slug(own)], dataPaths.Where(p => p!.StartsWith("mine/", StringComparison.Ordinal)));

            // Write: a new key lands in the caller's bucket only.
            (await client.PutReplyAsync(SharedPath, $"{{\"k\":\"written-by-{login.Name}\",\"v\":\"{Marker(own)}\"}}")).IsOk();
        }

        // After all the writes, every bucket holds its own marker and only keys written by its own logins.
        foreach (var bucket in buckets)
        {
            using var owner = ClientFor(logins.First(l => l.Bucket == bucket));
            Assert.Equal(Marker(bucket), (await owner.GetReplyAsync(SharedPath + "?k=secret")).IsOk().V.GetString());
            var keys = (await owner.GetReplyAsync(SharedPath)).IsOk().V.EnumerateArray().Select(e => e.GetString()!).ToArray();
            var expected = logins.Where(l => l.Bucket == bucket).Select(l => "written-by-" + l.Name).Append("secret").Order(StringComparer.Ordinal);
            Assert.Equal(expected, keys);
            foreach (var key in keys)
                Assert.Equal(Marker(bucket), (await owner.GetReplyAsync(SharedPath + "?k=" + key)).IsOk().V.GetString());
        }

        // Deleting a path and accounts touches only the caller's bucket.
        using (var bob = ClientFor(logins.First(l => l.Name == "bob")))
            Assert.Equal("{\"s\":\"ok\",\"v\":1}", (await bob.DeleteReplyAsync("/_data/shared/tree")).Body);
        foreach (var bucket in buckets.Where(b => b != "bob"))
        {
            using var owner = ClientFor(logins.First(l => l.Bucket == bucket));
            Assert.Equal(Marker(bucket), (await owner.GetReplyAsync("/_data/shared/tree/leaf?k=keep")).IsOk().V.GetString());
        }
    }

    [Fact]
    public async Task Accounts_of_other_tenants_are_invisible()
    {
        var t = fixture.Tenants;
        using var bob = fixture.Server.Client("bob", t.BobSecret);
        // bob's sub-accounts, not elena's.
        Assert.Equal(0, (await bob.GetReplyAsync("/_acc/accounts")).IsOk().V.GetArrayLength());
        (await bob.GetReplyAsync("/_acc/accounts?k=lily")).IsError("not_found", HttpStatusCode.NotFound);
        (await bob.GetReplyAsync("/_acc/accounts?k2=lily@example.com")).IsError("not_found", HttpStatusCode.NotFound);
        (await bob.DeleteReplyAsync("/_acc/accounts?k=lily")).IsOk();
        (await bob.GetReplyAsync("/_acc/users/admins?k=boss")).IsError("not_found", HttpStatusCode.NotFound);

        // lily still logs in: bob's delete was of his own (absent) sub-account.
        using var lily = fixture.Server.Client("elena#lily", t.LilySecret);
        (await lily.GetReplyAsync("/_data/shared/place")).IsOk();

        // A sub-account and an admin cannot manage the parent's accounts beyond their rights.
        (await lily.GetReplyAsync("/_acc/accounts")).IsError("forbidden", HttpStatusCode.Forbidden);
        using var boss = fixture.Server.Client("elena", "boss#" + Tenants.AdminPassword);
        (await boss.PutReplyAsync("/_acc/users/admins", "{\"k\":\"boss2\",\"v\":{\"password\":\"x-pw-123\"}}")).IsError("forbidden", HttpStatusCode.Forbidden);
        // elena sees her sub-accounts, not the top-level accounts.
        using var elena = fixture.Elena();
        var names = (await elena.GetReplyAsync("/_acc/accounts")).IsOk().V.EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.DoesNotContain("bob", names);
        Assert.Contains("lily", names);
    }

    private static string ActorOf((string Name, string User, string Password, string Bucket) login) =>
        login.Name == "boss" ? "elena:boss" : login.Bucket;
}
