using System.Text.Json;
using Kv4.Services.Api;

namespace Kv4.Tests.Services;

/// <summary>`_acc` (http-api.md §5.3) on a real store.</summary>
[Trait("Category", "Unit")]
public sealed class AccountsServiceTests : IAsyncLifetime
{
    private ServiceHarness _h = null!;

    public async Task InitializeAsync() => _h = await ServiceHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private Task<Reply> PutAccount(Caller caller, string body) => _h.PutAsync(caller, "acc", "accounts", body);

    [Fact]
    public async Task Creating_an_account_shows_its_secret_once_and_never_the_password()
    {
        var created = (await PutAccount(_h.Sys, """{"k":"lily","v":{"email":"Lily@Example.com","password":"pw-123","name":"Lily","tags":["a"]}}""")).Ok();
        Assert.Equal("lily", created.GetProperty("username").GetString());
        Assert.Equal("Lily@Example.com", created.GetProperty("email").GetString());
        Assert.Equal("Lily", created.GetProperty("name").GetString());
        Assert.Equal("a", created.GetProperty("tags")[0].GetString());
        Assert.True(created.GetProperty("active").GetBoolean());
        Assert.InRange(created.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        Assert.Matches("^[0-9a-f]{32}$", created.GetProperty("secret").GetString());
        Assert.False(created.TryGetProperty("password", out _));
        Assert.False(created.TryGetProperty("password_hash", out _));
        Assert.False(created.TryGetProperty("secret_hash", out _));
        Assert.True(created.TryGetProperty("_ver_", out _));

        foreach (var read in new[] { await _h.GetAsync(_h.Sys, "acc", "accounts", "k=lily"), await _h.GetAsync(_h.Sys, "acc", "accounts", "k2=lily@example.com") })
        {
            var account = read.Ok();
            Assert.Equal("lily", account.GetProperty("username").GetString());
            foreach (var hidden in new[] { "secret", "password", "secret_hash", "password_hash" })
                Assert.False(account.TryGetProperty(hidden, out _), hidden);
            Assert.DoesNotContain("pbkdf2", read.Text);
            Assert.DoesNotContain("hmac", read.Text);
        }
        Assert.Equal(["lily"], (await _h.GetAsync(_h.Sys, "acc", "accounts")).Strings());
    }

    [Fact]
    public async Task Accounts_carry_the_xirsys_profile_fields_with_their_defaults()
    {
        var created = (await PutAccount(_h.Sys, """{"k":"lily","v":{"email":"lily@example.com","first_name":"Lily","company":"Async"}}""")).Ok();
        Assert.Equal("free", created.GetProperty("plan").GetString());
        Assert.Equal("monthly", created.GetProperty("term").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("customer_id").ValueKind);
        Assert.Equal("Lily", created.GetProperty("first_name").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("last_name").ValueKind);
        Assert.Equal("Async", created.GetProperty("company").GetString());
        var read = (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=lily")).Ok();
        Assert.Equal("free", read.GetProperty("plan").GetString());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("last_name").ValueKind);

        // A merge sets them; null is "not set" and the member stays (a custom field set to null goes).
        var merged = (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"plan":"pro","customer_id":"cus_42","company":null}}""")).Ok();
        Assert.Equal("pro", merged.GetProperty("plan").GetString());
        Assert.Equal("cus_42", merged.GetProperty("customer_id").GetString());
        Assert.Equal(JsonValueKind.Null, merged.GetProperty("company").ValueKind);

        // Each holds a string or null; anything else is refused and nothing is written.
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"plan":5}}""")).Is("bad_param");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"first_name":{"x":1}}}""")).Is("bad_param");
        (await PutAccount(_h.Sys, """{"k":"rose","v":{"email":"rose@example.com","term":["yearly"]}}""")).Is("bad_param");
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=rose")).Is("not_found");
        Assert.Equal("pro", (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=lily")).Ok().GetProperty("plan").GetString());
    }

    [Fact]
    public async Task Post_creates_an_absent_account_or_admin_and_merges_into_an_existing_one()
    {
        // The Xirsys v3 examples create accounts and admins with POST (`curl -d`).
        var created = (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"email":"lily@example.com","password":"pw-1"}}""")).Ok();
        var secret = created.GetProperty("secret").GetString()!;
        var lily = await _h.LoginAsync("lily", secret);
        Assert.NotNull(lily);
        // The same POST again is a merge of an existing account: no new secret, the record kept.
        var merged = (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"email":"lily@example.com","name":"Lily"}}""")).Ok();
        Assert.False(merged.TryGetProperty("secret", out _));
        Assert.Equal("Lily", merged.GetProperty("name").GetString());
        Assert.NotNull(await _h.LoginAsync("lily", secret));

        (await _h.PostAsync(lily!, "acc", "users/admins", """{"k":"boss","v":{"password":"hunter22"}}""")).Ok();
        Assert.NotNull(await _h.LoginAsync("lily", "boss#hunter22"));
        (await _h.PostAsync(lily!, "acc", "users/admins", """{"k":"boss2","v":{}}""")).Is("require_account_details");
        (await _h.GetAsync(lily!, "acc", "users/admins", "k=boss2")).Is("not_found");
    }

    [Fact]
    public async Task The_history_of_an_account_and_an_admin_never_shows_a_secret_or_a_hash()
    {
        var (elena, firstSecret) = await _h.CreateAccountAsync("elena", password: "first password");
        // A new secret, a new password, a deactivation and back; an admin with two passwords.
        var secondSecret = (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"elena","v":{"secret":true}}""")).Ok().GetProperty("secret").GetString()!;
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"elena","v":{"password":"second password"}}""")).Ok();
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"elena","v":{"active":false}}""")).Ok();
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"elena","v":{"active":true}}""")).Ok();
        elena = (await _h.LoginAsync("elena", secondSecret))!;
        (await _h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"admin password 1"}}""")).Ok();
        (await _h.PostAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"admin password 2"}}""")).Ok();

        var stored = await _h.Store.GetHistoryAsync(new("$sys", "acc", "accounts", "elena"), Kv4.Engine.Model.HistoryQuery.All);
        Assert.Equal(5, stored.Count);
        // What is stored (and so what a history read without care would show): the hashes and the incarnation.
        var forbidden = new[] { "secret_hash", "password_hash", "incarnation", "hmac-sha256", "pbkdf2", firstSecret, secondSecret,
            "first password", "second password", "admin password 1", "admin password 2" };
        Assert.Contains("hmac-sha256", System.Text.Encoding.UTF8.GetString(stored[0].Value!.Value.Span));

        var histories = new List<Reply>();
        foreach (var query in new[] { "k=elena&time_series=1", "k=elena&time_series=1&format=full", "time_series=1", "time_series=1&format=full&limit=2" })
            histories.Add(await _h.GetAsync(_h.Sys, "acc", "accounts", query));
        foreach (var query in new[] { "k=boss&time_series=1", "time_series=1&format=full" })
            histories.Add(await _h.GetAsync(elena, "acc", "users/admins", query));
        foreach (var history in histories)
        {
            history.Ok();
            foreach (var text in forbidden) Assert.DoesNotContain(text, history.Text);
        }
        // Yet it is the audit trail: every version, newest first, as a read shows it.
        var trail = histories[0].Ok();
        Assert.Equal(5, trail.GetArrayLength());
        Assert.Equal([true, false, true, true, true], trail.EnumerateArray().Select(e => e[2].GetProperty("active").GetBoolean()));
        Assert.All(trail.EnumerateArray(), e => Assert.Equal("$sys", e[1].GetString()));
        Assert.Equal(2, histories[4].Ok().GetArrayLength());
        Assert.Equal("boss", histories[4].Ok()[0][2].GetProperty("username").GetString());
        // A sub-account may not read its parent's records' history any more than the records.
        var (lily, _) = await _h.CreateAccountAsync("lily", elena);
        (await _h.GetAsync(lily, "acc", "accounts", "time_series=1")).Is("forbidden");
        (await _h.GetAsync(elena, "acc", "accounts", "k=../x&time_series=1")).Is("bad_key");
    }

    [Fact]
    public async Task Creation_refusals()
    {
        await _h.CreateAccountAsync("lily");
        (await PutAccount(_h.Sys, """{"k":"lily","v":{"email":"other@example.com"}}""")).Is("exists");
        (await PutAccount(_h.Sys, """{"k":"lily2","v":{"email":"LILY@example.com"}}""")).Is("exists");
        (await PutAccount(_h.Sys, """{"k":"bob","v":"bob@example.com"}""")).Is("require_account_details");
        (await PutAccount(_h.Sys, """{"k":"bob"}""")).Is("require_account_details");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob@example.com","password":5}}""")).Is("require_account_details");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob@example.com","password":""}}""")).Is("require_account_details");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{}}""")).Is("bad_email");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob"}}""")).Is("bad_email");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":7}}""")).Is("bad_email");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob@example.com","secret":"mine"}}""")).Is("bad_param");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob@example.com","secret_hash":"x"}}""")).Is("bad_param");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob@example.com","username":"rob"}}""")).Is("bad_param");
        (await PutAccount(_h.Sys, """{"k":"b#ob","v":{"email":"bob@example.com"}}""")).Is("bad_key");
        (await PutAccount(_h.Sys, """{"k":"b:ob","v":{"email":"bob@example.com"}}""")).Is("bad_key");
        (await PutAccount(_h.Sys, """{"k":"$bob","v":{"email":"bob@example.com"}}""")).Is("bad_key");
        (await PutAccount(_h.Sys, """{"v":{"email":"bob@example.com"}}""")).Is("bad_key");
        (await PutAccount(_h.Sys, """{"k":"bob","v":{"email":"bob@example.com"}""")).Is("bad_json");
        (await _h.PutAsync(_h.Sys, "acc", "elsewhere", """{"k":"bob","v":{"email":"bob@example.com"}}""")).Is("bad_path");
        Assert.Equal(["lily"], (await _h.GetAsync(_h.Sys, "acc", "accounts")).Strings());
    }

    [Fact]
    public async Task Lookups_of_absent_accounts_are_not_found()
    {
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=ghost")).Is("not_found");
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k2=ghost@example.com")).Is("not_found");
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=a&k2=b")).Is("bad_param");
        // A POST of an absent name creates the account, as PUT does (the Xirsys v3 API creates with POST): without an
        // email that is refused and nothing is written.
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"ghost","v":{"name":"x"}}""")).Is("bad_email");
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=ghost")).Is("not_found");
        Assert.Equal(0, (await _h.DeleteAsync(_h.Sys, "acc", "accounts", "k=ghost")).Ok().GetInt32());
    }

    [Fact]
    public async Task Merging_changes_only_the_given_fields()
    {
        await PutAccount(_h.Sys, """{"k":"lily","v":{"email":"lily@example.com","name":"Lily","city":"Oslo"}}""");
        var merged = (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"name":"Lily B","plan":"pro","city":null,"username":"lily","email":"LILY@example.com"}}""")).Ok();
        Assert.Equal("Lily B", merged.GetProperty("name").GetString());
        Assert.Equal("pro", merged.GetProperty("plan").GetString());
        Assert.False(merged.TryGetProperty("city", out _));
        Assert.Equal("lily@example.com", merged.GetProperty("email").GetString());
        Assert.False(merged.TryGetProperty("secret", out _));
        var read = (await _h.GetAsync(_h.Sys, "acc", "accounts", "k2=lily@example.com")).Ok();
        Assert.Equal("Lily B", read.GetProperty("name").GetString());
        Assert.Equal(merged.GetProperty("_ver_").GetString(), read.GetProperty("_ver_").GetString());
    }

    [Fact]
    public async Task Username_and_email_are_immutable()
    {
        await PutAccount(_h.Sys, """{"k":"lily","v":{"email":"lily@example.com"}}""");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"username":"rose"}}""")).Is("username_is_immutable");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"email":"rose@example.com","name":"x"}}""")).Is("email_is_immutable");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"active":"no"}}""")).Is("bad_param");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"secret":"chosen"}}""")).Is("bad_param");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":{"created":1}}""")).Is("bad_param");
        (await _h.PostAsync(_h.Sys, "acc", "accounts", """{"k":"lily","v":[1]}""")).Is("require_account_details");
        var read = (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=lily")).Ok();
        Assert.False(read.TryGetProperty("name", out _));
        var history = await _h.Store.GetHistoryAsync(new Kv4.Engine.Model.EntryAddress("$sys", "acc", "accounts", "lily"), Kv4.Engine.Model.HistoryQuery.All);
        Assert.Single(history);
    }

    [Fact]
    public async Task An_account_creates_sub_accounts_in_its_own_bucket()
    {
        var (elena, _) = await _h.CreateAccountAsync("elena");
        var (lily, _) = await _h.CreateAccountAsync("lily", elena);
        Assert.Equal("elena#lily", lily.Bucket);
        Assert.Equal(["lily"], (await _h.GetAsync(elena, "acc", "accounts")).Strings());
        Assert.Equal(["elena"], (await _h.GetAsync(_h.Sys, "acc", "accounts")).Strings());
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=lily")).Is("not_found");
        // A sub-account has no sub-accounts of its own: buckets nest two levels.
        (await PutAccount(lily, """{"k":"x","v":{"email":"x@example.com"}}""")).Is("forbidden");
        (await _h.GetAsync(lily, "acc", "accounts")).Is("forbidden");
        (await _h.DeleteAsync(lily, "acc", "accounts", "k=lily")).Is("forbidden");
    }

    [Fact]
    public async Task Deleting_an_account_deletes_its_bucket_and_its_sub_accounts_buckets()
    {
        var (elena, _) = await _h.CreateAccountAsync("elena");
        var (lily, _) = await _h.CreateAccountAsync("lily", elena);
        var (bob, _) = await _h.CreateAccountAsync("bob");
        await _h.PutAsync(elena, "data", "p", """{"k":"a","v":1}""");
        await _h.PutAsync(lily, "data", "p", """{"k":"a","v":2}""");
        await _h.PutAsync(bob, "data", "p", """{"k":"a","v":3}""");
        await _h.PutAsync(elena, "ns", "rooms", null);

        Assert.Equal(1, (await _h.DeleteAsync(_h.Sys, "acc", "accounts", "k=elena")).Ok().GetInt32());

        Assert.DoesNotContain("elena", _h.Store.ListBuckets());
        Assert.Empty(_h.Store.ListBuckets("elena#"));
        Assert.Empty(_h.Store.ListLayers("elena"));
        Assert.Empty(_h.Store.ListLayers("elena#lily"));
        Assert.Equal(["bob"], (await _h.GetAsync(_h.Sys, "acc", "accounts")).Strings());
        Assert.Equal(3, (await _h.GetAsync(bob, "data", "p", "k=a")).Ok().GetInt32());
        (await _h.GetAsync(_h.Sys, "acc", "accounts", "k2=elena@example.com")).Is("not_found");
    }

    [Fact]
    public async Task Deleting_a_sub_account_leaves_the_parent_and_its_siblings()
    {
        var (elena, _) = await _h.CreateAccountAsync("elena");
        var (lily, _) = await _h.CreateAccountAsync("lily", elena);
        var (rose, _) = await _h.CreateAccountAsync("rose", elena);
        await _h.PutAsync(elena, "data", "p", """{"k":"a","v":1}""");
        await _h.PutAsync(lily, "data", "p", """{"k":"a","v":2}""");
        await _h.PutAsync(rose, "data", "p", """{"k":"a","v":3}""");
        Assert.Equal(1, (await _h.DeleteAsync(elena, "acc", "accounts", "k=lily")).Ok().GetInt32());
        Assert.Empty(_h.Store.ListLayers("elena#lily"));
        Assert.Equal(1, (await _h.GetAsync(elena, "data", "p", "k=a")).Ok().GetInt32());
        Assert.Equal(3, (await _h.GetAsync(rose, "data", "p", "k=a")).Ok().GetInt32());
        Assert.Equal(["rose"], (await _h.GetAsync(elena, "acc", "accounts")).Strings());
        (await _h.DeleteAsync(elena, "acc", "accounts")).Is("bad_param");
        (await _h.DeleteAsync(elena, "acc", "accounts", "k=a#b")).Is("bad_key");
    }

    [Fact]
    public async Task A_deleted_name_can_be_created_again_with_an_empty_bucket()
    {
        var (elena, _) = await _h.CreateAccountAsync("elena");
        await _h.PutAsync(elena, "data", "p", """{"k":"a","v":1}""");
        await _h.DeleteAsync(_h.Sys, "acc", "accounts", "k=elena");
        var (again, _) = await _h.CreateAccountAsync("elena");
        (await _h.GetAsync(again, "data", "p", "k=a")).Is("not_found");
    }

    [Fact]
    public async Task Admins_are_managed_by_the_account_and_read_by_admins()
    {
        var (elena, _) = await _h.CreateAccountAsync("elena");
        var created = (await _h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"hunter22"}}""")).Ok();
        Assert.Equal("boss", created.GetProperty("username").GetString());
        Assert.False(created.TryGetProperty("password", out _));
        Assert.False(created.TryGetProperty("password_hash", out _));
        var boss = await _h.LoginAsync("elena", "boss#hunter22");
        Assert.NotNull(boss);
        Assert.Equal(["boss"], (await _h.GetAsync(boss, "acc", "users/admins")).Strings());
        var read = await _h.GetAsync(boss, "acc", "users/admins", "k=boss");
        Assert.Equal("boss", read.Ok().GetProperty("username").GetString());
        Assert.DoesNotContain("pbkdf2", read.Text);
        (await _h.PutAsync(boss, "acc", "users/admins", """{"k":"evil","v":{"password":"x"}}""")).Is("forbidden");
        (await _h.DeleteAsync(boss, "acc", "users/admins", "k=boss")).Is("forbidden");
        (await _h.PutAsync(_h.Sys, "acc", "users/admins", """{"k":"root","v":{"password":"x"}}""")).Is("forbidden");
        (await _h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{}}""")).Is("require_account_details");
        (await _h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":"pw"}""")).Is("require_account_details");
        // POST to an existing admin sets a new password (POST of an absent one creates it, as PUT does); nothing else.
        (await _h.PostAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"name":"x"}}""")).Is("bad_param");
        (await _h.PostAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"hunter33"}}""")).Ok();
        Assert.Null(await _h.LoginAsync("elena", "boss#hunter22"));
        Assert.NotNull(await _h.LoginAsync("elena", "boss#hunter33"));
        // An admin manages the account's sub-accounts.
        var sub = (await PutAccount(boss, """{"k":"lily","v":{"email":"lily@example.com"}}""")).Ok();
        Assert.NotNull(await _h.LoginAsync("elena#lily", sub.GetProperty("secret").GetString()!));
        Assert.Equal(1, (await _h.DeleteAsync(elena, "acc", "users/admins", "k=boss")).Ok().GetInt32());
        Assert.Equal(0, (await _h.DeleteAsync(elena, "acc", "users/admins", "k=boss")).Ok().GetInt32());
        Assert.Null(await _h.LoginAsync("elena", "boss#hunter22"));
    }

    [Fact]
    public async Task The_actor_of_an_admin_write_is_the_admin()
    {
        var (elena, _) = await _h.CreateAccountAsync("elena");
        await _h.PutAsync(elena, "acc", "users/admins", """{"k":"boss","v":{"password":"hunter22"}}""");
        var boss = (await _h.LoginAsync("elena", "boss#hunter22"))!;
        Assert.Equal("elena", boss.Bucket);
        await _h.PutAsync(boss, "data", "board", """{"k":"memo","v":1}""");
        var series = (await _h.GetAsync(elena, "data", "board", "time_series=1&k=memo")).Ok();
        Assert.Equal("elena:boss", series[0][1].GetString());
    }

    [Fact]
    public async Task Unsupported_paths_and_methods()
    {
        (await _h.GetAsync(_h.Sys, "acc", "")).Is("bad_path");
        (await _h.GetAsync(_h.Sys, "acc", "accounts/x")).Is("bad_path");
        (await _h.CallAsync(_h.Sys, (ApiMethod)42, "acc", "accounts")).Is("method_not_allowed");
    }

    [Fact]
    public async Task Concurrent_merges_keep_every_field()
    {
        await PutAccount(_h.Sys, """{"k":"lily","v":{"email":"lily@example.com"}}""");
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            _h.PostAsync(_h.Sys, "acc", "accounts", $$$"""{"k":"lily","v":{"f{{{i}}}":{{{i}}}}}""")));
        var account = (await _h.GetAsync(_h.Sys, "acc", "accounts", "k=lily")).Ok();
        for (var i = 0; i < 4; i++) Assert.Equal(i, account.GetProperty($"f{i}").GetInt32());
    }

    internal static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
