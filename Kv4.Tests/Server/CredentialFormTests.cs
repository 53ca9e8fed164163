using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Kv4.Tests.Support;

namespace Kv4.Tests.Server;

/// <summary>The five login forms of http-api.md §4 Credentials over HTTP, the `%24sys` spelling, and the credentials-in-URL form.</summary>
[Trait("Category", "Integration")]
public sealed class CredentialFormTests(RealServerFixture fixture) : IClassFixture<RealServerFixture>
{
    [Fact]
    public async Task All_five_forms_act_on_their_bucket_and_stamp_their_actor()
    {
        foreach (var login in fixture.Tenants.Logins)
        {
            using var client = fixture.Server.Client(login.User, login.Password);
            var key = "by-" + login.Name;
            (await client.PutReplyAsync("/_data/forms", $"{{\"k\":\"{key}\",\"v\":\"{login.Bucket}\"}}")).IsOk();
            var series = (await client.GetReplyAsync($"/_data/forms?time_series=1&k={key}")).IsOk().V.EnumerateArray().ToArray();
            Assert.Equal(login.Name == "boss" ? "elena:boss" : login.Bucket, series[0][1].GetString());
        }
        // The bucket is the credential's: elena's admin and elena write into the same bucket, lily's two forms into lily's.
        using var elena = fixture.Elena();
        var elenaKeys = (await elena.GetReplyAsync("/_data/forms")).IsOk().V.EnumerateArray().Select(e => e.GetString());
        Assert.Equal(["by-boss", "by-elena"], elenaKeys);
        using var lily = fixture.Server.Client("elena#lily", fixture.Tenants.LilySecret);
        Assert.Equal(["by-lily", "by-lily-via-elena"], (await lily.GetReplyAsync("/_data/forms")).IsOk().V.EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Percent_24sys_is_the_system_login()
    {
        using var client = fixture.Server.Client();
        client.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("%24sys:" + Kv4TestServer.SysSecret)));
        var names = (await client.GetReplyAsync("/_acc/accounts")).IsOk().V.EnumerateArray().Select(e => e.GetString());
        Assert.Contains("elena", names);
    }

    [Fact]
    public async Task Credentials_in_the_url_are_the_same_header()
    {
        // What a client that copies the URL's user part verbatim sends: the escaped user name.
        var uri = new Uri($"http://%24sys:{Kv4TestServer.SysSecret}@{fixture.Server.BaseAddress.Authority}/_acc/accounts");
        var header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(uri.UserInfo));
        var (status, body) = await RawHttp.SendAsync(fixture.Server.BaseAddress, "GET", uri.PathAndQuery, header);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\"elena\"", body);
    }

    [ToolFact("curl")]
    public async Task Curl_decodes_credentials_in_the_url_into_the_same_login()
    {
        // curl decodes the user part itself before building the header; the sub-account's '#' is escaped as %23.
        var lilyUrl = $"http://elena%23lily:{fixture.Tenants.LilySecret}@{fixture.Server.BaseAddress.Authority}/_data/forms";
        var sysUrl = $"http://%24sys:{Kv4TestServer.SysSecret}@{fixture.Server.BaseAddress.Authority}/_acc/accounts";
        Assert.StartsWith("{\"s\":\"ok\"", await CurlAsync(lilyUrl));
        Assert.Contains("\"elena\"", await CurlAsync(sysUrl));
    }

    private static async Task<string> CurlAsync(string url)
    {
        var start = new ProcessStartInfo(ExternalTool.Require("curl"), ["-s", "--max-time", "60", url]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
