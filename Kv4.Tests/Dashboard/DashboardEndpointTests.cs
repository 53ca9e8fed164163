using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kv4.Server.Dashboard;
using Kv4.Tests.Server;
using Kv4.Tests.Support;

namespace Kv4.Tests.Dashboard;

/// <summary>
/// `/_dashboard/` over real HTTP: the files, their types and security headers, revalidation, and how the host's
/// prefix keeps clear of the `/_&lt;service&gt;` template (refused targets, a registered `dashboard` service).
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class DashboardEndpointTests : IAsyncLifetime
{
    private Kv4TestServer _server = null!;

    public async Task InitializeAsync() => _server = await Kv4TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_root_serves_the_page_with_its_security_headers_and_no_credentials()
    {
        using var client = _server.Client();
        using var response = await client.GetAsync("/_dashboard/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        AssertSecurityHeaders(response);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.NotNull(response.Headers.ETag);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<script type=\"module\" src=\"js/main.js\"></script>", html);
    }

    [Fact]
    public async Task The_policy_allows_only_this_origin_and_no_inline_code_or_framing()
    {
        var policy = DashboardHeaders.ContentSecurityPolicy.Split(';', StringSplitOptions.TrimEntries).ToDictionary(d => d.Split(' ')[0], d => d[(d.IndexOf(' ') + 1)..]);
        Assert.Equal("'none'", policy["default-src"]);
        Assert.Equal("'self'", policy["script-src"]);
        Assert.Equal("'self'", policy["style-src"]);
        Assert.Equal("'self'", policy["connect-src"]);
        Assert.Equal("'none'", policy["frame-ancestors"]);
        Assert.Equal("'script'", policy["require-trusted-types-for"]);
        Assert.DoesNotContain("unsafe", DashboardHeaders.ContentSecurityPolicy);

        // What the policy would refuse is not in the page either: scripts and styles come from files only.
        using var client = _server.Client();
        var html = await client.GetStringAsync("/_dashboard/");
        Assert.DoesNotMatch(@"<script(?![^>]*\ssrc=)", html);
        Assert.DoesNotMatch(@"<style|\sstyle=|\son[a-z]+=", html);
    }

    [Fact]
    public async Task Every_file_the_page_loads_is_served_with_its_type_and_nothing_else_is_shipped()
    {
        using var client = _server.Client();
        var reached = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<Uri>([new Uri(_server.BaseAddress, "/_dashboard/index.html")]);
        var root = new Uri(_server.BaseAddress, "/_dashboard/");
        while (queue.TryDequeue(out var url))
        {
            var name = root.MakeRelativeUri(url).ToString();
            if (!reached.Add(name)) continue;
            using var response = await client.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode}");
            AssertSecurityHeaders(response);
            var type = response.Content.Headers.ContentType!.MediaType;
            Assert.Equal(Path.GetExtension(name) switch
            {
                ".html" => "text/html",
                ".js" => "text/javascript",
                ".css" => "text/css",
                ".svg" => "image/svg+xml",
                var other => "unexpected " + other,
            }, type);
            var text = await response.Content.ReadAsStringAsync();
            var references = type switch
            {
                "text/html" => HtmlReference().Matches(text).Select(m => m.Groups[1].Value),
                "text/javascript" => ModuleImport().Matches(text).Select(m => m.Groups[1].Value),
                _ => [],
            };
            foreach (var reference in references) queue.Enqueue(new Uri(url, reference));
        }
        Assert.Equal(new DashboardFiles().Names.Order(StringComparer.Ordinal), reached);
        Assert.Contains("js/views/browse.js", reached);
    }

    [Fact]
    public async Task An_unchanged_file_is_answered_not_modified()
    {
        using var client = _server.Client();
        using var first = await client.GetAsync("/_dashboard/js/api.js");
        var etag = first.Headers.ETag!;
        foreach (var tag in new[] { etag.Tag, "W/" + etag.Tag, "\"other\", " + etag.Tag })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/_dashboard/js/api.js");
            request.Headers.TryAddWithoutValidation("If-None-Match", tag);
            using var again = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
            Assert.Empty(await again.Content.ReadAsByteArrayAsync());
            Assert.Equal(etag, again.Headers.ETag);
        }
        using var changed = new HttpRequestMessage(HttpMethod.Get, "/_dashboard/js/api.js");
        changed.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"older\""));
        using var full = await client.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await full.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Head_answers_the_headers_without_the_body()
    {
        using var client = _server.Client();
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/_dashboard/dashboard.css"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Content.Headers.ContentLength > 0);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Without_the_slash_it_redirects_to_the_root()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _server.BaseAddress };
        using var response = await client.GetAsync("/_dashboard");
        Assert.Equal(HttpStatusCode.PermanentRedirect, response.StatusCode);
        Assert.Equal("_dashboard/", response.Headers.Location?.OriginalString);
        Assert.Equal(new Uri(_server.BaseAddress, "/_dashboard/"), new Uri(new Uri(_server.BaseAddress, "/_dashboard"), response.Headers.Location!));
    }

    [Theory]
    [InlineData("GET", "/_dashboard/nosuch.js", "not_found", HttpStatusCode.NotFound)]
    [InlineData("GET", "/_dashboard/js", "not_found", HttpStatusCode.NotFound)]
    [InlineData("GET", "/_dashboard/js/", "not_found", HttpStatusCode.NotFound)]
    [InlineData("GET", "/_dashboard/INDEX.HTML", "not_found", HttpStatusCode.NotFound)]
    [InlineData("PUT", "/_dashboard/", "method_not_allowed", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "/_dashboard/index.html", "method_not_allowed", HttpStatusCode.MethodNotAllowed)]
    [InlineData("DELETE", "/_dashboard", "method_not_allowed", HttpStatusCode.MethodNotAllowed)]
    // Targets that reach the dashboard only once Kestrel has removed their dot segments, or name a file through one.
    [InlineData("GET", "/x/../_dashboard/", "bad_path", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/x/%2e%2e/_dashboard/index.html", "bad_path", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/_dashboard/js/../index.html", "bad_path", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/_dashboard/js/%2e%2e/index.html", "bad_path", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/_dashboard//index.html", "bad_path", HttpStatusCode.BadRequest)]
    // And out of it: the template takes them as written, `/_dashboard/...`, a prefix no API service owns, as it
    // takes any `/_<unknown>/../x`; they reach neither `_data` nor `/healthz`.
    [InlineData("GET", "/_dashboard/../_data/x?k=a", "unknown_service", HttpStatusCode.NotFound)]
    [InlineData("GET", "/_dashboard/../healthz", "unknown_service", HttpStatusCode.NotFound)]
    public async Task Refused_targets_get_the_envelope_with_the_security_headers(string method, string target, string code, HttpStatusCode status)
    {
        var (got, body) = await RawHttp.SendAsync(_server.BaseAddress, method, target);
        Assert.Equal(status, got);
        Assert.Equal($$"""{"s":"error","v":"{{code}}"}""", body);
    }

    [Fact]
    public async Task A_refusal_carries_the_security_headers_and_is_not_cached()
    {
        using var client = _server.Client();
        using var response = await client.GetAsync("/_dashboard/nosuch.js");
        (await Reply.SendAsync(client, HttpMethod.Get, "/_dashboard/nosuch.js")).IsError("not_found", HttpStatusCode.NotFound);
        AssertSecurityHeaders(response);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task A_registered_external_service_named_dashboard_does_not_take_the_prefix()
    {
        using var sys = _server.SystemClient();
        (await sys.PutReplyAsync("/_svc/dashboard", """{"k":"h1","v":{"url":"http://127.0.0.1:9/","ttl":60}}""")).IsOk();
        (await sys.GetReplyAsync("/_host?type=dashboard")).IsOk(); // registered and live
        using var client = _server.Client();
        using var response = await client.GetAsync("/_dashboard/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        using var withCredentials = _server.SystemClient();
        using var asSys = await withCredentials.GetAsync("/_dashboard/js/main.js");
        Assert.Equal("text/javascript", asSys.Content.Headers.ContentType?.MediaType);
        (await sys.DeleteReplyAsync("/_svc/dashboard?k=h1")).IsOk();
    }

    [Fact]
    public async Task The_rate_limiter_leaves_the_files_alone_and_still_limits_the_api()
    {
        // One permit per second, no burst: a page load's dozen files within a second all arrive; API calls from the
        // same address without credentials share one bucket and a quick burst of them is refused.
        await using var limited = await Kv4TestServer.StartAsync(["--Kv4:RateLimit:PermitsPerSecond=1"]);
        using var client = limited.Client();
        foreach (var name in new DashboardFiles().Names)
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/_dashboard/" + name)).StatusCode);
        var refused = 0;
        for (var i = 0; i < 20; i++)
            if ((await client.GetAsync("/_ds")).StatusCode == HttpStatusCode.TooManyRequests) refused++;
        Assert.True(refused > 0);
    }

    [Fact]
    public async Task The_built_server_process_serves_it()
    {
        // `dotnet Kv4.Server.dll` from the build output, as `dotnet run` and a published build run it.
        using var work = new Kv4.Tests.Engine.Support.TempDirectory("dashboard-process");
        await using var process = ServerProcess.Start(work.Path, new Dictionary<string, string> { ["KV4_SYS_SECRET"] = Kv4TestServer.SysSecret });
        const string listening = "Now listening on: ";
        var line = await process.WaitForLineAsync(l => l.Contains("\"Message\":\"" + listening, StringComparison.Ordinal));
        Uri address;
        using (var json = JsonDocument.Parse(line))
            address = new Uri(json.RootElement.GetProperty("Message").GetString()![listening.Length..]);
        using var client = new HttpClient { BaseAddress = address, Timeout = ServerProcess.Patience };
        foreach (var name in new DashboardFiles().Names)
        {
            using var response = await client.GetAsync("/_dashboard/" + name);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {(int)response.StatusCode}");
        }
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal(DashboardHeaders.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    [GeneratedRegex("(?:src|href)=\"([^\"#:]+)\"")]
    private static partial Regex HtmlReference();

    [GeneratedRegex("""(?:^|\n)\s*import\b[^;]*?\bfrom\s+'(\.{1,2}/[^']+)'""")]
    private static partial Regex ModuleImport();
}
