using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Kv4.Server.Authentication;
using Kv4.Services.Api;

namespace Kv4.Tests.Server;

/// <summary>The host's own rules, checked with test services over real HTTP: routing, paths, bodies, credentials, envelope, failures.</summary>
[Trait("Category", "Integration")]
public sealed class HostPipelineTests(FakeServerFixture fixture) : IClassFixture<FakeServerFixture>
{
    private Kv4TestServer Server => fixture.Server;

    [Fact]
    public async Task Template_hands_method_service_normal_path_query_body_and_caller_to_the_service()
    {
        using var client = Server.SystemClient();
        var reply = (await client.PutReplyAsync("/_probe/a/b%20c/?k=key1", "{\"k\":\"x\",\"v\":1}")).IsOk();
        Assert.Equal("Put", reply.V.GetProperty("method").GetString());
        Assert.Equal("probe", reply.V.GetProperty("service").GetString());
        Assert.Equal("a/b c", reply.V.GetProperty("path").GetString());
        Assert.Equal("key1", reply.V.GetProperty("k").GetString());
        Assert.Equal("{\"k\":\"x\",\"v\":1}", reply.V.GetProperty("body").GetString());
        Assert.Equal("$sys", reply.V.GetProperty("bucket").GetString());
        Assert.Equal("System", reply.V.GetProperty("kind").GetString());
    }

    [Theory]
    [InlineData("/_probe", "")]
    [InlineData("/_probe/", "")]
    [InlineData("/_probe?depth=5", "")]
    [InlineData("/_probe/?depth=5", "")]
    [InlineData("/_probe/x/y", "x/y")]
    [InlineData("/_probe/x/y/", "x/y")]
    public async Task Empty_and_trailing_slash_paths_address_the_root_or_the_node(string uri, string path)
    {
        using var client = Server.SystemClient();
        var reply = (await client.GetReplyAsync(uri)).IsOk();
        Assert.Equal(path, reply.V.GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("/_probe/a/../b")]
    [InlineData("/_probe/a/%2e%2e/b")]
    [InlineData("/_probe/a/%2E%2E")]
    [InlineData("/_probe/..")]
    [InlineData("/_probe/a/./b")]
    [InlineData("/_probe/a//b")]
    [InlineData("/_probe/a%0Ab")]
    [InlineData("/_probe/a/%7F")]
    [InlineData("/_probe/a/%ff")]
    [InlineData("/_probe/..%2f..%2fsecret")]
    public async Task Bad_paths_are_refused_before_the_service_runs(string target)
    {
        var before = fixture.Fake.ProbeCalls;
        var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "PUT", target,
            BasicCredential.Header("$sys", Kv4TestServer.SysSecret), "{\"k\":\"x\",\"v\":1}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"bad_path\"}", body);
        Assert.Equal(before, fixture.Fake.ProbeCalls);
    }

    [Fact]
    public async Task A_nul_byte_in_the_path_is_refused_by_Kestrel_before_the_service_runs()
    {
        var before = fixture.Fake.ProbeCalls;
        var (status, _) = await RawHttp.SendAsync(Server.BaseAddress, "PUT", "/_probe/a/%00/b",
            BasicCredential.Header("$sys", Kv4TestServer.SysSecret), "{\"k\":\"x\",\"v\":1}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(before, fixture.Fake.ProbeCalls);
    }

    [Fact]
    public async Task A_path_that_climbs_out_of_the_template_is_still_a_bad_path()
    {
        // Kestrel turns this into /healthz before routing; the raw target says what the client meant.
        var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "GET", "/_probe/../healthz");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"bad_path\"}", body);
    }

    [Fact]
    public async Task Too_many_segments_is_a_bad_path()
    {
        using var client = Server.SystemClient();
        var deep = "/_probe/" + string.Join("/", Enumerable.Repeat("s", 40));
        (await client.GetReplyAsync(deep)).IsError("bad_path", HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/_nosuch/a")]
    [InlineData("/_nosuch")]
    [InlineData("/_")]
    [InlineData("/not-api")]
    public async Task Unknown_services_answer_unknown_service(string uri)
    {
        using var client = Server.SystemClient();
        (await client.GetReplyAsync(uri)).IsError("unknown_service", HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("PATCH")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    [InlineData("TRACE")]
    public async Task Other_methods_answer_method_not_allowed(string method)
    {
        var before = fixture.Fake.ProbeCalls;
        using var client = Server.SystemClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/_probe/a?k=x");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        if (method != "HEAD") Assert.Equal("{\"s\":\"error\",\"v\":\"method_not_allowed\"}", await response.Content.ReadAsStringAsync());
        Assert.Equal(before, fixture.Fake.ProbeCalls);
    }

    public static TheoryData<string?> BadAuthorizationHeaders => new()
    {
        null,
        "Basic",
        "Basic ",
        "Basic !!!notbase64",
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("no-colon-here")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(":secret-without-user")),
        "Basic " + Convert.ToBase64String([0xff, 0xfe, (byte)':', 0x41]),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("$sys:wrong-secret")),
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("nobody:x")),
        "Digest username=\"x\"",
        "Bearer not.a.jwt",
        "Bearer ",
        "Basic " + new string('A', 5000),
    };

    [Theory]
    [MemberData(nameof(BadAuthorizationHeaders))]
    public async Task Missing_garbled_or_wrong_credentials_get_the_unauthorized_envelope(string? header)
    {
        var before = fixture.Fake.ProbeCalls;
        var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "PUT", "/_probe/a", header, "{\"k\":\"x\",\"v\":1}");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("{\"s\":\"error\",\"v\":\"unauthorized\"}", body);
        Assert.Equal(before, fixture.Fake.ProbeCalls);
    }

    [Fact]
    public async Task The_challenge_names_the_scheme()
    {
        using var client = Server.Client();
        var reply = (await client.GetReplyAsync("/_probe/a")).IsError("unauthorized", HttpStatusCode.Unauthorized);
        Assert.Contains(reply.Message.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task A_url_encoded_user_name_is_decoded_and_the_password_split_at_the_first_colon()
    {
        using var client = Server.Client();
        client.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("%24sys:" + Kv4TestServer.SysSecret)));
        (await client.GetReplyAsync("/_probe/a")).IsOk();
        lock (fixture.Fake.LoginNamesSeen) Assert.Contains("$sys", fixture.Fake.LoginNamesSeen);
    }

    [Theory]
    [InlineData("a:b:c", "a", "b:c")]
    [InlineData("%24sys:s", "$sys", "s")]
    [InlineData("elena#lily:!secret", "elena#lily", "!secret")]
    [InlineData("elena:admin#pass:word", "elena", "admin#pass:word")]
    [InlineData("el%23ena:x%24", "el#ena", "x%24")]
    public void Basic_credential_parser_splits_at_the_first_colon_and_decodes_only_the_user(string raw, string user, string password)
    {
        Assert.True(BasicCredential.TryParse("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(raw)), out var u, out var p));
        Assert.Equal(user, u);
        Assert.Equal(password, p);
    }

    [Fact]
    public async Task Anonymous_calls_reach_a_service_that_allows_them_with_an_empty_bucket()
    {
        using var client = Server.Client();
        var reply = (await client.GetReplyAsync("/_open/x")).IsOk();
        Assert.Equal("", reply.V.GetProperty("bucket").GetString());
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_even_where_anonymous_calls_are_allowed()
    {
        using var client = Server.Client("$sys", "wrong");
        (await client.GetReplyAsync("/_open/x")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Bodies_over_the_limit_are_refused_with_value_too_large()
    {
        var before = fixture.Fake.ProbeCalls;
        using var client = Server.SystemClient();
        var big = "{\"k\":\"x\",\"v\":\"" + new string('a', 2 * 1024 * 1024) + "\"}";
        (await client.PutReplyAsync("/_probe/a", big)).IsError("value_too_large", HttpStatusCode.RequestEntityTooLarge);

        // Chunked (no Content-Length): refused once the bound is passed.
        using var request = new HttpRequestMessage(HttpMethod.Put, "/_probe/a")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))),
        };
        request.Headers.TransferEncodingChunked = true;
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("{\"s\":\"error\",\"v\":\"value_too_large\"}", await response.Content.ReadAsStringAsync());
        Assert.Equal(before, fixture.Fake.ProbeCalls);
    }

    [Fact]
    public async Task A_body_just_under_the_limit_arrives_whole()
    {
        using var client = Server.SystemClient();
        var body = "{\"k\":\"x\",\"v\":\"" + new string('a', 1024 * 1024) + "\"}";
        var reply = (await client.PutReplyAsync("/_probe/a", body)).IsOk();
        Assert.Equal(Encoding.UTF8.GetByteCount(body), reply.V.GetProperty("bodyLength").GetInt32());
    }

    [Fact]
    public async Task Every_error_code_has_its_status_and_envelope()
    {
        using var client = Server.SystemClient();
        foreach (var code in Enum.GetValues<ErrorCode>())
        {
            var wire = ErrorCodes.Wire(code);
            (await client.GetReplyAsync("/_fail/x?code=" + wire)).IsError(wire, (HttpStatusCode)ErrorCodes.HttpStatus(code));
        }
    }

    [Fact]
    public async Task An_unexpected_exception_answers_unavailable_and_is_logged_without_its_message_leaking()
    {
        using var client = Server.SystemClient();
        var reply = (await client.GetReplyAsync("/_boom/x")).IsError("unavailable", HttpStatusCode.ServiceUnavailable);
        Assert.DoesNotContain("secret-that-must-not-leak", reply.Body);
        Assert.Contains(Server.Logs, line => line.StartsWith("Error", StringComparison.Ordinal) && line.Contains("boom", StringComparison.Ordinal));
        // The server keeps serving.
        (await client.GetReplyAsync("/_probe/x")).IsOk();
    }

    [Fact]
    public async Task An_engine_refusal_thrown_by_a_service_maps_to_its_code()
    {
        using var client = Server.SystemClient();
        (await client.GetReplyAsync("/_refused/x")).IsError("version_conflict", HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_denied_bucket_is_forbidden_before_the_service_runs()
    {
        var before = fixture.Fake.ProbeCalls;
        fixture.Fake.DeniedBucket = "elena#lily";
        try
        {
            using var client = Server.Client("elena#lily", "lily-secret");
            (await client.PutReplyAsync("/_probe/a", "{}")).IsError("forbidden", HttpStatusCode.Forbidden);
            Assert.Equal(before, fixture.Fake.ProbeCalls);
        }
        finally
        {
            fixture.Fake.DeniedBucket = null;
        }
    }

    [Fact]
    public async Task Replies_are_json_envelopes()
    {
        using var client = Server.SystemClient();
        var reply = await client.GetReplyAsync("/_probe/a");
        Assert.Equal("application/json", reply.Message.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("{\"s\":\"ok\",\"v\":{", reply.Body);
        // Written whole before it is sent, so it is not chunked.
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(reply.Body), reply.Message.Content.Headers.ContentLength);
    }
}
