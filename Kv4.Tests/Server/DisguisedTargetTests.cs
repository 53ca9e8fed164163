using System.Net;
using Kv4.Server.Authentication;

namespace Kv4.Tests.Server;

/// <summary>
/// Targets that reach a route only after Kestrel's normalization (dot segments removed, `%2e%2e` decoded into
/// them, an escaped service name decoded) are refused `bad_path` with the real services: a stored value is not
/// served and nothing is written. Sent raw, because HttpClient would normalize them before sending.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DisguisedTargetTests(RealServerFixture fixture) : IClassFixture<RealServerFixture>
{
    private const string BadPath = "{\"s\":\"error\",\"v\":\"bad_path\"}";
    private const string Value = "disguise-target-value";

    private Kv4TestServer Server => fixture.Server;

    private string Elena => BasicCredential.Header("elena", fixture.Tenants.ElenaSecret);

    public static TheoryData<string> DisguisedDataTargets => new()
    {
        "/x/../_data/a/../b",
        "/x/%2e%2e/_data/a/%2e%2e/b",
        "/x/%2E./_data/b",
        "/%5F%64ata/b",
        "/%5f%64ata/b",
        "/%5Fdata/b",
        "/_%64ata/b",
        "/healthz/../_data/b",
        "/x/./../_data/b",
    };

    [Theory]
    [MemberData(nameof(DisguisedDataTargets))]
    public async Task A_disguised_read_is_bad_path_and_serves_nothing(string target)
    {
        using var elena = fixture.Elena();
        (await elena.PutReplyAsync("/_data/b", $"{{\"k\":\"bk\",\"v\":\"{Value}\"}}")).IsOk();
        // The honest target serves the value, so a refusal below is the rule and not a missing key.
        var honest = await RawHttp.SendAsync(Server.BaseAddress, "GET", "/_data/b?k=bk", Elena);
        Assert.Contains(Value, honest.Body);

        var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "GET", target + "?k=bk", Elena);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(BadPath, body);
    }

    [Theory]
    [MemberData(nameof(DisguisedDataTargets))]
    public async Task A_disguised_write_is_bad_path_and_writes_nothing(string target)
    {
        await Server.AssertNothingWrittenAsync(async () =>
        {
            var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "PUT", target, Elena, "{\"k\":\"written\",\"v\":1}");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(BadPath, body);
        });
        using var elena = fixture.Elena();
        (await elena.GetReplyAsync("/_data/b?k=written")).IsError("not_found", HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/x/../healthz")]
    [InlineData("/x/%2e%2e/readyz")]
    [InlineData("/healthz/.")]
    [InlineData("/metrics/../metrics")]
    [InlineData("/a/b/../../openapi/v1.json")]
    [InlineData("/x/../ws/watch")]
    [InlineData("/x/../ws/v2/token")]
    [InlineData("/_data/../healthz")]
    [InlineData("/_data/%2e%2e/metrics")]
    public async Task Operations_endpoints_are_not_reached_through_dot_segments(string target)
    {
        var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "GET", target);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(BadPath, body);
    }

    [Fact]
    public async Task An_absolute_form_target_follows_the_same_rule()
    {
        using var elena = fixture.Elena();
        (await elena.PutReplyAsync("/_data/b", $"{{\"k\":\"bk\",\"v\":\"{Value}\"}}")).IsOk();
        var origin = $"http://{Server.BaseAddress.Authority}";
        var honest = await RawHttp.SendAsync(Server.BaseAddress, "GET", origin + "/_data/b?k=bk", Elena);
        Assert.Contains(Value, honest.Body);

        var (status, body) = await RawHttp.SendAsync(Server.BaseAddress, "GET", origin + "/x/../_data/b?k=bk", Elena);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(BadPath, body);
    }
}
