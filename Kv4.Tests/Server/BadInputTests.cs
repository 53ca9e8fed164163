using System.Net;
using System.Text;
using Kv4.Server.Authentication;

namespace Kv4.Tests.Server;

/// <summary>Bad input against the real services and engine: each gets its code, and the engine's sequence proves nothing was written.</summary>
[Trait("Category", "Integration")]
public sealed class BadInputTests(RealServerFixture fixture) : IClassFixture<RealServerFixture>
{
    private Kv4TestServer Server => fixture.Server;

    public static TheoryData<string, string, string, string, HttpStatusCode> BadRequests => new()
    {
        // method, uri, body, code, status
        { "PUT", "/_data/p", "{\"k\":\"a\",\"v\":", "bad_json", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "not json at all", "bad_json", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":\"a\",\"v\":1}{\"k\":\"b\"}", "bad_json", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":\"a\",\"v\":[1,}", "bad_json", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "", "bad_json", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":\"\",\"v\":1}", "bad_key", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":\"a\\u0000b\",\"v\":1}", "bad_key", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":\"" + new string('x', 600) + "\",\"v\":1}", "bad_key", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":5,\"v\":1}", "bad_key", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"v\":1}", "bad_key", HttpStatusCode.BadRequest },
        { "PUT", "/_data/p", "{\"k\":\"a\"}", "bad_param", HttpStatusCode.BadRequest },
        { "GET", "/_data/p?k=a&k2=b", "", "bad_param", HttpStatusCode.BadRequest },
        // A POST without `_ver_` creates an absent key (POST creates); one naming a version needs the key to exist.
        { "POST", "/_data/p", "{\"k\":\"a\",\"v\":1,\"_ver_\":\"1\"}", "not_found", HttpStatusCode.NotFound },
        { "PUT", "/_data/a//b", "{\"k\":\"a\",\"v\":1}", "bad_path", HttpStatusCode.BadRequest },
        { "PUT", "/_nosuch/p", "{\"k\":\"a\",\"v\":1}", "unknown_service", HttpStatusCode.NotFound },
        { "PATCH", "/_data/p", "{\"k\":\"a\",\"v\":1}", "method_not_allowed", HttpStatusCode.MethodNotAllowed },
        { "POST", "/_ns/p", "", "method_not_allowed", HttpStatusCode.MethodNotAllowed },
        { "PUT", "/_acc/accounts", "{\"k\":\"zed\",\"v\":\"zed@example.com\"}", "require_account_details", HttpStatusCode.BadRequest },
        { "PUT", "/_acc/accounts", "{\"k\":\"zed\",\"v\":{\"email\":\"nope\"}}", "bad_email", HttpStatusCode.BadRequest },
        { "PUT", "/_acc/accounts", "{\"k\":\"elena\",\"v\":{\"email\":\"x@example.com\"}}", "exists", HttpStatusCode.Conflict },
        { "POST", "/_acc/accounts", "{\"k\":\"elena\",\"v\":{\"username\":\"other\"}}", "username_is_immutable", HttpStatusCode.Conflict },
        { "POST", "/_acc/accounts", "{\"k\":\"elena\",\"v\":{\"email\":\"other@example.com\"}}", "email_is_immutable", HttpStatusCode.Conflict },
        { "PUT", "/_acc/users/admins", "{\"k\":\"x\",\"v\":{\"password\":\"p\"}}", "forbidden", HttpStatusCode.Forbidden },
        { "GET", "/_host", "", "require_type_param", HttpStatusCode.BadRequest },
        { "GET", "/_host?type=carrier-pigeon", "", "unrecognized_type_param", HttpStatusCode.BadRequest },
        { "PUT", "/_token/no/such/channel?k=alice", "", "no_namespace", HttpStatusCode.NotFound },
        { "DELETE", "/_stats/x", "", "method_not_allowed", HttpStatusCode.MethodNotAllowed },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_their_code_and_write_nothing(string method, string uri, string body, string code, HttpStatusCode status)
    {
        using var sys = Server.SystemClient();
        await Server.AssertNothingWrittenAsync(async () =>
            (await Reply.SendAsync(sys, new HttpMethod(method), uri, body.Length == 0 && method == "GET" ? null : body)).IsError(code, status));
    }

    [Theory]
    [InlineData("/_data/a/../b")]
    [InlineData("/_data/a/%2e%2e/b")]
    [InlineData("/_data/%2E%2E")]
    [InlineData("/_data/a/%01")]
    [InlineData("/_data/a%0D%0Ab")]
    [InlineData("/_data/../../etc")]
    public async Task Bad_paths_write_nothing(string target)
    {
        await Server.AssertNothingWrittenAsync(async () =>
        {
            var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "PUT", target,
                BasicCredential.Header("elena", fixture.Tenants.ElenaSecret), "{\"k\":\"a\",\"v\":1}");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("{\"s\":\"error\",\"v\":\"bad_path\"}", body);
        });
    }

    [Fact]
    public async Task An_oversize_body_is_value_too_large_and_writes_nothing()
    {
        using var client = fixture.Elena();
        await Server.AssertNothingWrittenAsync(async () =>
        {
            var huge = "{\"k\":\"big\",\"v\":\"" + new string('a', 3 * 1024 * 1024) + "\"}";
            (await client.PutReplyAsync("/_data/big", huge)).IsError("value_too_large", HttpStatusCode.RequestEntityTooLarge);
            // Within the body bound but over the value limit: refused by the value rule.
            var overValue = "{\"k\":\"big\",\"v\":\"" + new string('a', 1024 * 1024) + "\"}";
            (await client.PutReplyAsync("/_data/big", overValue)).IsError("value_too_large", HttpStatusCode.RequestEntityTooLarge);
        });
        (await client.GetReplyAsync("/_data/big?k=big")).IsError("not_found", HttpStatusCode.NotFound);
    }

    public static TheoryData<string?> BadHeaders => new()
    {
        null,
        "Basic !!!",
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("elena")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("elena:wrong")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("$sys:wrong")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("nobody:whatever")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("elena#nobody:whatever")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("elena:boss#wrong")),
        "Bearer abc.def.ghi",
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public async Task Missing_garbled_and_wrong_credentials_are_unauthorized_and_write_nothing(string? header)
    {
        await Server.AssertNothingWrittenAsync(async () =>
        {
            var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "PUT", "/_data/p", header, "{\"k\":\"a\",\"v\":1}");
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("{\"s\":\"error\",\"v\":\"unauthorized\"}", body);
        });
    }

    [Fact]
    public async Task A_sub_account_with_a_wrong_parent_secret_is_unauthorized()
    {
        using var client = Server.Client("elena#lily", "!" + fixture.Tenants.BobSecret);
        await Server.AssertNothingWrittenAsync(async () =>
            (await client.PutReplyAsync("/_data/p", "{\"k\":\"a\",\"v\":1}")).IsError("unauthorized", HttpStatusCode.Unauthorized));
    }
}
