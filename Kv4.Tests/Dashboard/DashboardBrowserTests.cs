using System.Net;
using System.Text.Json;
using Kv4.Tests.Realtime;
using Kv4.Tests.Server;
using Kv4.Tests.Support;

namespace Kv4.Tests.Dashboard;

/// <summary>
/// The dashboard used as a person uses it, in headless Chromium (Debian's `chromium`) against a real server: log in,
/// open a path, read a key's history as a table and a chart, watch a change arrive, read the stats, and as `$sys`
/// the cluster page. Every step waits on what the page shows; every page is checked for console errors (uncaught
/// exceptions, console.error, failed loads, Content-Security-Policy violations).
/// </summary>
[Trait("Category", "Integration")]
public sealed class DashboardBrowserTests
{
    private const string Password = "correct horse battery";

    [ToolFact("chromium")]
    public async Task A_user_logs_in_opens_a_path_reads_a_history_chart_and_sees_a_live_change()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync(["--Kv4:Stats:FlushSeconds=1"]);
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", Password);
        using var elena = server.Client("elena", secret);
        foreach (var (c, rh) in new[] { (20.5, 41), (21.0, 43), (22.5, 40) })
            (await elena.PutReplyAsync("/_data/sensors/room1", Body("temp", new { c, rh }))).IsOk();
        (await elena.PutReplyAsync("/_data/sensors/room1", Body("label", "north room"))).IsOk();
        (await elena.PutReplyAsync("/_data/notes", Body("today", new { text = "hello" }))).IsOk();

        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/"));
        await browser.WaitForAsync("document.body.dataset.view === 'login' && document.activeElement.id === 'login-name'");
        await DashboardScreenshots.TakeAsync(browser, "dashboard-login.png");

        await LogInAsync(browser, "elena", Password);
        Assert.Equal("elena · session", (await browser.EvaluateAsync("document.getElementById('who').textContent")).GetString());
        // The session is a bearer token in this tab's storage, never a cookie; the cluster page is not offered.
        Assert.Equal("", (await browser.EvaluateAsync("document.cookie")).GetString());
        Assert.True((await browser.EvaluateAsync("JSON.parse(sessionStorage.getItem('kv4.session')).access.length > 0")).GetBoolean());
        Assert.True((await browser.EvaluateAsync("document.querySelector('nav a[data-view=cluster]').hidden")).GetBoolean());

        // The layers and the path tree; then the path's keys.
        await browser.WaitForAsync("document.querySelector('#layers a[data-layer=data].active')");
        await browser.ClickAsync("#tree a[data-path='sensors/room1']");
        await browser.WaitForAsync("document.querySelector('#keys a[data-key=temp]') && document.querySelector('#keys a[data-key=label]')");
        Assert.Equal("data / sensors/room1", (await browser.EvaluateAsync("document.getElementById('path-title').textContent")).GetString());

        // The key: its value, its three versions as a table, and a chart of its numeric fields over time.
        await browser.ClickAsync("#keys a[data-key=temp]");
        await browser.WaitForAsync(ChartHas("c", 3) + " && " + ChartHas("rh", 3) + " && document.querySelectorAll('#key-history tbody tr').length === 3");
        Assert.Equal(new[] { 20.5, 21.0, 22.5 }, await PointsAsync(browser, "c"));
        Assert.Equal(new[] { 41.0, 43.0, 40.0 }, await PointsAsync(browser, "rh"));
        var value = await browser.EvaluateAsync("JSON.parse(document.getElementById('key-value').textContent)");
        Assert.Equal(22.5, value.GetProperty("c").GetDouble());
        Assert.False(value.TryGetProperty("_ver_", out _));
        var rows = await browser.EvaluateJsonAsync("JSON.stringify([...document.querySelectorAll('#key-history tbody tr')].map(r => [...r.cells].map(c => c.textContent)))");
        Assert.Equal(["elena", "put", """{"c":22.5,"rh":40}"""], rows[0].EnumerateArray().Skip(1).Take(3).Select(c => c.GetString()));
        Assert.Equal("""{"c":20.5,"rh":41}""", rows[2][3].GetString());

        // A live change under the path: it appears in the live pane, and the open key's chart takes the new version.
        await browser.WaitForAsync("document.getElementById('live-state').dataset.state === 'live'");
        (await elena.PutReplyAsync("/_data/sensors/room1", Body("temp", new { c = 23.5, rh = 38 }))).IsOk();
        (await elena.PutReplyAsync("/_data/sensors/room1", Body("door", new { open = true }))).IsOk();
        (await elena.PutReplyAsync("/_data/elsewhere", Body("x", 1))).IsOk(); // not under the watched path
        await browser.WaitForAsync("document.querySelector('#live li[data-key=door]') && document.querySelector('#live li[data-key=temp]')");
        var live = await browser.EvaluateJsonAsync("JSON.stringify([...document.querySelectorAll('#live li')].map(li => [li.dataset.op, li.dataset.path, li.dataset.key, li.querySelector('.json').textContent]))");
        Assert.Equal(["put", "sensors/room1", "door", """{"open":true}"""], live[0].EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["put", "sensors/room1", "temp", """{"c":23.5,"rh":38}"""], live[1].EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(2, live.GetArrayLength());
        await browser.WaitForAsync(ChartHas("c", 4) + " && document.querySelectorAll('#key-history tbody tr').length === 4 && document.querySelector('#keys a[data-key=door]')");
        Assert.Equal(new[] { 20.5, 21.0, 22.5, 23.5 }, await PointsAsync(browser, "c"));
        // A change at a new path below joins the tree.
        (await elena.PutReplyAsync("/_data/sensors/room1/window", Body("open", false))).IsOk();
        await browser.WaitForAsync("document.querySelector('#tree a[data-path=\"sensors/room1/window\"]') && document.querySelector('#live li[data-path=\"sensors/room1/window\"]')");
        await DashboardScreenshots.TakeAsync(browser, "dashboard-browse.png");

        // The account's stats: the host's count of its API calls (api:3), once flushed, per entity over the last hour.
        await WaitForStatsAsync(elena, "data/PUT", 9);
        await browser.ClickAsync("nav a[data-view=stats]");
        await browser.WaitForAsync("document.querySelector('#stats-entities .series[data-series=\"data/PUT\"]') && document.querySelector('#stats-table tr[data-entity=\"data/PUT\"]')");
        var putSum = await browser.EvaluateAsync("Number(document.querySelector('#stats-table tr[data-entity=\"data/PUT\"]').cells[1].textContent)");
        Assert.Equal(9, putSum.GetDouble()); // the nine PUTs above
        var perMinute = await browser.EvaluateJsonAsync("JSON.stringify([...document.querySelectorAll('#stats-entities .series[data-series=\"data/PUT\"] circle')].map(c => Number(c.dataset.v)))");
        Assert.Equal(60, perMinute.GetArrayLength());
        Assert.Equal(putSum.GetDouble(), perMinute.EnumerateArray().Sum(v => v.GetDouble()));
        await DashboardScreenshots.TakeAsync(browser, "dashboard-stats.png");

        Assert.Empty(browser.ConsoleErrors);

        // Logging out revokes the session on the server and forgets it here.
        await browser.ClickAsync("#logout");
        await browser.WaitForAsync("document.body.dataset.view === 'login' && sessionStorage.getItem('kv4.session') === null");
        Assert.Equal(0, (await elena.GetReplyAsync("/_sess")).IsOk().V.GetArrayLength());
        Assert.Empty(browser.ConsoleErrors);
    }

    [ToolFact("chromium")]
    public async Task Paths_and_keys_with_any_characters_open_like_any_other_and_cfg_is_browsed_too()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync();
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", Password);
        using var elena = server.Client("elena", secret);
        const string path = "menu/café au lait";
        const string key = "price \"€\" & tax/cup #1?";
        (await elena.PutReplyAsync("/_data/menu/caf%C3%A9%20au%20lait", Body(key, new { eur = 3.5 }))).IsOk();
        (await elena.PutReplyAsync("/_data/menu/caf%C3%A9%20au%20lait", Body("plain", 1))).IsOk();
        (await elena.PutReplyAsync("/_cfg/app", Body("theme", new { dark = true }))).IsOk();
        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/"));
        await LogInAsync(browser, "elena", Password);

        // The layers list fills above the tree when its own request returns: a click aimed at the tree before then can
        // land on whatever the list pushed there.
        await browser.WaitForAsync("document.querySelector('#layers a[data-layer=cfg]') && document.querySelector('#layers a[data-layer=data].active')");
        await browser.ClickAsync($"#tree a[data-path='{path}']");
        var keyLink = $"[...document.querySelectorAll('#keys a')].find(a => a.dataset.key === {JsonSerializer.Serialize(key)})";
        await browser.ClickElementAsync(keyLink);
        await browser.WaitForAsync($"document.getElementById('key-title')?.textContent === {JsonSerializer.Serialize(key)} && {ChartHas("eur", 1)}");
        Assert.Equal(3.5, (await browser.EvaluateAsync("JSON.parse(document.getElementById('key-value').textContent).eur")).GetDouble());
        Assert.Equal($"data / {path}", (await browser.EvaluateAsync("document.getElementById('path-title').textContent")).GetString());

        // The configuration layer is a generic layer too: its keys, values and histories read the same way.
        await browser.ClickAsync("#layers a[data-layer=cfg]");
        await browser.WaitForAsync("document.querySelector('#layers a[data-layer=cfg].active')");
        await browser.ClickAsync("#tree a[data-path=app]");
        await browser.ClickAsync("#keys a[data-key=theme]");
        await browser.WaitForAsync("document.getElementById('key-value')?.dataset.state === 'present' && document.querySelectorAll('#key-history tbody tr').length === 1");
        Assert.True((await browser.EvaluateAsync("JSON.parse(document.getElementById('key-value').textContent).dark")).GetBoolean());
        Assert.Equal("cfg / app", (await browser.EvaluateAsync("document.getElementById('path-title').textContent")).GetString());
        Assert.Empty(browser.ConsoleErrors);
    }

    [ToolFact("chromium")]
    public async Task A_wrong_password_is_refused_and_a_secret_stays_in_memory_only()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync();
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", Password);
        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/"));

        await browser.TypeAsync("#login-name", "elena");
        await browser.TypeAsync("#login-password", "not the password");
        await browser.PressEnterAsync();
        await browser.WaitForAsync("!document.getElementById('login-error').hidden");
        Assert.Equal("unauthorized", (await browser.EvaluateAsync("document.getElementById('login-error').dataset.code")).GetString());
        Assert.Equal("Wrong login or password.", (await browser.EvaluateAsync("document.getElementById('login-error').textContent")).GetString());
        Assert.Equal(JsonValueKind.Null, (await browser.EvaluateAsync("sessionStorage.getItem('kv4.session')")).ValueKind);
        using (var elena = server.Client("elena", secret))
            Assert.Equal(0, (await elena.GetReplyAsync("/_sess")).IsOk().V.GetArrayLength());

        // With the secret: Basic credentials held by the page alone, nothing stored, so a reload asks again.
        await browser.TypeAsync("#login-password", secret);
        await browser.ClickAsync("#login-secret");
        await browser.ClickAsync("#login-submit");
        await browser.WaitForAsync("document.body.dataset.view === 'browse' && document.querySelector('#layers a[data-layer=data]')");
        Assert.Equal("elena · secret, in memory", (await browser.EvaluateAsync("document.getElementById('who').textContent")).GetString());
        Assert.Equal(0, (await browser.EvaluateAsync("sessionStorage.length")).GetInt32());
        Assert.Equal("", (await browser.EvaluateAsync("document.cookie")).GetString());
        await browser.ReloadAsync();
        await browser.WaitForAsync("document.body.dataset.view === 'login'");

        // The only error the page logged is the browser's note of the refused login (401 from /_sess).
        var error = Assert.Single(browser.ConsoleErrors);
        Assert.Contains("401", error);
        Assert.EndsWith("/_sess)", error);
    }

    [ToolFact("chromium")]
    public async Task A_session_survives_a_reload_and_renews_an_access_token_the_server_refuses()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync();
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", Password);
        using var elena = server.Client("elena", secret);
        (await elena.PutReplyAsync("/_data/notes", Body("today", new { text = "hello" }))).IsOk();
        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/#/browse?l=data&p=notes&k=today"));
        await LogInAsync(browser, "elena", Password);
        await browser.WaitForAsync("document.getElementById('key-value')?.dataset.state === 'present'");
        var before = await browser.EvaluateJsonAsync("sessionStorage.getItem('kv4.session')");
        Assert.Empty(browser.ConsoleErrors);

        // The tab reloads holding an access token the server refuses (as it refuses an expired one): every call
        // that gets `unauthorized` waits for one renewal with the refresh token, then goes through.
        await browser.ReloadAsync("""
            const session = JSON.parse(sessionStorage.getItem('kv4.session'));
            session.access = 'not.a.token';
            sessionStorage.setItem('kv4.session', JSON.stringify(session))
            """);
        await browser.WaitForAsync("document.body.dataset.view === 'browse' "
            + "&& document.getElementById('key-value')?.dataset.state === 'present' && document.getElementById('live-state').dataset.state === 'live'");
        var after = await browser.EvaluateJsonAsync("sessionStorage.getItem('kv4.session')");
        Assert.NotEqual("not.a.token", after.GetProperty("access").GetString());
        Assert.NotEqual(before.GetProperty("refresh").GetString(), after.GetProperty("refresh").GetString());
        Assert.Equal(before.GetProperty("sid").GetString(), after.GetProperty("sid").GetString());
        // One renewal for all the refused calls (the login and it are the only POSTs to _sess); the refresh token it
        // replaced is spent, and the session is the same one.
        Assert.Equal(2, await SessionPostsAsync(server));
        (await elena.PostReplyAsync("/_sess/refresh", JsonSerializer.Serialize(new { refresh_token = before.GetProperty("refresh").GetString() })))
            .IsError("unauthorized", HttpStatusCode.Unauthorized);
        var sessions = (await elena.GetReplyAsync("/_sess")).IsOk().V;
        Assert.Equal(before.GetProperty("sid").GetString(), Assert.Single(sessions.EnumerateArray()).GetProperty("sid").GetString());
        Assert.NotEmpty(browser.ConsoleErrors);
        Assert.All(browser.ConsoleErrors, e => Assert.Matches(@"^network: .* 401 ", e));
    }

    [ToolFact("chromium")]
    public async Task As_sys_the_cluster_page_shows_what_this_server_answers()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync();
        using var sys = server.SystemClient();
        var answer = await sys.GetReplyAsync("/_cluster");
        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/"));
        await LogInAsync(browser, "$sys", Kv4TestServer.SysSecret);
        Assert.Equal("$sys · secret, in memory", (await browser.EvaluateAsync("document.getElementById('who').textContent")).GetString());

        await browser.ClickAsync("nav a[data-view=cluster]");
        var cluster = answer.IsOk().V;
        var partitions = (await sys.GetReplyAsync("/_cluster/partitions")).IsOk().V;
        var self = cluster.GetProperty("self").GetString()!;
        await browser.WaitForAsync($"document.querySelector('#cluster-members tr[data-node=\"{self}\"]') && document.querySelectorAll('#cluster-partitions .cell').length === {partitions.GetArrayLength()}");
        Assert.Equal(cluster.GetProperty("members").GetArrayLength(), (await browser.EvaluateAsync("document.querySelectorAll('#cluster-members tbody tr').length")).GetInt32());
        Assert.Empty(browser.ConsoleErrors);
    }

    [ToolFact("chromium")]
    public async Task The_cluster_page_draws_nodes_and_partitions_from_the_documented_shapes()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync(configure: FakeClusterFilter.AddTo);
        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/#/cluster"));
        await LogInAsync(browser, "$sys", Kv4TestServer.SysSecret, "cluster");

        await browser.WaitForAsync("document.getElementById('cluster').dataset.state === 'shown'");
        var members = await browser.EvaluateJsonAsync("JSON.stringify([...document.querySelectorAll('#cluster-members tbody tr')].map(r => [r.dataset.node, r.dataset.state, r.cells[0].textContent, r.cells[3].textContent, r.cells[6].textContent]))");
        Assert.Equal(4, members.GetArrayLength());
        Assert.Equal(["n1", "up", "n1this nodeleader", "http://127.0.0.1:4001", "22"], members[0].EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["n4", "down", "n4", "—", "0"], members[3].EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("http://127.0.0.1:4002/_dashboard/", (await browser.EvaluateAsync("document.querySelector('#cluster-members tr[data-node=n2] a').href")).GetString());
        Assert.Equal(64, (await browser.EvaluateAsync("document.querySelectorAll('#cluster-partitions .cell').length")).GetInt32());
        var behind = await browser.EvaluateJsonAsync("JSON.stringify([...document.querySelectorAll('#cluster-partitions .cell.behind')].map(c => Number(c.dataset.partition)))");
        Assert.Equal(FakeClusterFilter.BehindPartitions, behind.EnumerateArray().Select(p => p.GetInt32()));
        Assert.Equal("n3", (await browser.EvaluateAsync("document.querySelector('#cluster-partitions .cell[data-partition=\"5\"]').dataset.primary")).GetString());
        Assert.Equal(2, (await browser.EvaluateAsync("document.querySelectorAll('#cluster-behind tbody tr').length")).GetInt32());
        Assert.Contains("n1: 22 · n2: 21 · n3: 21", (await browser.EvaluateAsync("document.querySelector('.cluster-page').textContent")).GetString());
        await DashboardScreenshots.TakeAsync(browser, "dashboard-cluster.png");
        Assert.Empty(browser.ConsoleErrors);
    }

    [ToolFact("chromium")]
    public async Task A_path_is_shown_as_of_an_instant_and_a_versions_time_opens_the_path_as_it_was_then()
    {
        var chromium = ExternalTool.Require("chromium");
        await using var server = await Kv4TestServer.StartAsync();
        var secret = await RealtimeServerFixture.CreateAccountAsync(server, "elena", Password);
        using var elena = server.Client("elena", secret);
        // Three writes at three distinct instants: temp c=1, then temp c=2, then a key that did not exist before.
        var t1 = await PutAtNewInstantAsync(elena, "temp", new { c = 1 }, after: 0);
        var t2 = await PutAtNewInstantAsync(elena, "temp", new { c = 2 }, after: t1);
        await PutAtNewInstantAsync(elena, "later", new { c = 3 }, after: t2);

        await using var browser = await HeadlessChromium.StartAsync(chromium, new Uri(server.BaseAddress, "/_dashboard/"));
        await LogInAsync(browser, "elena", Password);
        await browser.EvaluateAsync($"location.hash = '#/browse?l=data&p=sensors&k=temp&at={t1}'");
        await browser.WaitForAsync("document.getElementById('key-value')?.dataset.state === 'present' && document.querySelectorAll('#key-history tbody tr').length === 2"
            + " && document.querySelector('#keys a[data-key=temp]')");
        Assert.Equal(1, (await browser.EvaluateAsync("JSON.parse(document.getElementById('key-value').textContent).c")).GetInt32());
        Assert.StartsWith($"Value as of {t1}", (await browser.EvaluateAsync("document.getElementById('key-value-label').textContent")).GetString());
        Assert.False((await browser.EvaluateAsync("Boolean(document.querySelector('#keys a[data-key=later]'))")).GetBoolean());
        // The version that held then is marked; the history stays whole.
        Assert.Equal(1, (await browser.EvaluateAsync("document.querySelectorAll('#key-history tbody tr.at').length")).GetInt32());
        Assert.Equal(1, (await browser.EvaluateAsync("[...document.querySelectorAll('#key-history tbody tr')].findIndex(r => r.classList.contains('at'))")).GetInt32());

        // The newer version's time opens the path as of that instant.
        await browser.ClickAsync("#key-history tbody tr:first-child td a");
        await browser.WaitForAsync("document.getElementById('key-value')?.dataset.state === 'present' && JSON.parse(document.getElementById('key-value').textContent).c === 2");
        Assert.False((await browser.EvaluateAsync("Boolean(document.querySelector('#keys a[data-key=later]'))")).GetBoolean());

        // Before the first write the key had no value; "now" (an empty instant) shows the present again.
        await browser.EvaluateAsync($"location.hash = '#/browse?l=data&p=sensors&k=temp&at={t1 - 1}'");
        await browser.WaitForAsync("document.getElementById('key-value')?.dataset.state === 'absent'");
        await browser.TypeAsync("#at-input", "now");
        await browser.ClickAsync("#at-form button");
        await browser.WaitForAsync("document.getElementById('key-value')?.dataset.state === 'present' && document.querySelector('#keys a[data-key=later]')");
        Assert.Equal("Current value", (await browser.EvaluateAsync("document.getElementById('key-value-label').firstChild.textContent")).GetString());
        // The one failed load is the API's 404 for the key read before it existed (the browser logs every 404).
        Assert.Equal(["404"], browser.ConsoleErrors.Select(e => System.Text.RegularExpressions.Regex.Match(e, @"status of (\d+)").Groups[1].Value));
    }

    /// <summary>A PUT stamped after <paramref name="after"/> (waits for the clock to pass it); answers the version's time.</summary>
    private static async Task<long> PutAtNewInstantAsync(HttpClient client, string key, object value, long after)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() <= after) await Task.Delay(1, timeout.Token);
        (await client.PutReplyAsync("/_data/sensors", Body(key, value))).IsOk();
        var history = (await client.GetReplyAsync($"/_data/sensors?k={key}&time_series=1&format=full&limit=1")).IsOk().V;
        var t = history[0].GetProperty("t");
        var ms = t.ValueKind == JsonValueKind.Number ? t.GetInt64() : DateTimeOffset.Parse(t.GetString()!).ToUnixTimeMilliseconds();
        Assert.True(ms > after, $"the version of {key} is stamped {ms}, not after {after}");
        return ms;
    }

    private static async Task LogInAsync(HeadlessChromium browser, string login, string password, string expectedView = "browse")
    {
        await browser.TypeAsync("#login-name", login);
        await browser.TypeAsync("#login-password", password);
        await browser.ClickAsync("#login-submit");
        await browser.WaitForAsync($"document.body.dataset.view === '{expectedView}'");
    }

    /// <summary>How many `POST /_sess...` calls the server answered 200 (logins and renewals), from /metrics.</summary>
    private static async Task<int> SessionPostsAsync(Kv4TestServer server)
    {
        using var client = server.Client();
        var metrics = await client.GetStringAsync("/metrics");
        var line = metrics.Split('\n').SingleOrDefault(l => l.StartsWith("kv4_api_requests_total{service=\"sess\",method=\"POST\",status=\"200\"} ", StringComparison.Ordinal));
        return line is null ? 0 : int.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Body(string key, object value) => JsonSerializer.Serialize(new { k = key, v = value });

    private static string ChartHas(string series, int points) =>
        $"document.querySelector('#key-chart .series[data-series=\"{series}\"]')?.dataset.points === '{points}'";

    /// <summary>The values the chart drew for one series, in time order.</summary>
    private static async Task<double[]> PointsAsync(HeadlessChromium browser, string series)
    {
        var points = await browser.EvaluateJsonAsync(
            $"JSON.stringify([...document.querySelectorAll('#key-chart .series[data-series=\"{series}\"] circle')].map(c => [Number(c.dataset.t), Number(c.dataset.v), Number(c.getAttribute('cy'))]))");
        var rows = points.EnumerateArray().Select(p => (T: p[0].GetDouble(), V: p[1].GetDouble(), Y: p[2].GetDouble())).ToArray();
        Assert.Equal(rows.OrderBy(r => r.T), rows); // drawn left to right in time order
        // Higher values are drawn higher (smaller y), so the line shows what was stored.
        foreach (var a in rows)
            foreach (var b in rows)
                if (a.V > b.V) Assert.True(a.Y < b.Y, $"{a.V} drawn at y {a.Y}, {b.V} at y {b.Y}");
        return rows.Select(r => r.V).ToArray();
    }

    /// <summary>Waits until the stats flush has stored at least <paramref name="calls"/> api:3 calls for an entity.</summary>
    private static async Task WaitForStatsAsync(HttpClient client, string entity, int calls)
    {
        using var deadline = new CancellationTokenSource(HeadlessChromium.Patience);
        while (true)
        {
            var reply = (await client.GetReplyAsync($"/_stats/{entity}?l=api:3")).IsOk();
            if (reply.V.GetProperty("sum").GetDouble() >= calls) return;
            // The flusher runs every second (FlushSeconds=1): the next look is after the next flush.
            await Task.Delay(200, deadline.Token);
        }
    }
}
