using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Kv4.Tests.Server;

namespace Kv4.Tests.Realtime;

/// <summary>Watch streams (http-api.md §7 Watch) over SSE and WebSocket, against the real server and engine.</summary>
[Trait("Category", "Integration")]
public sealed class WatchTests(RealtimeServerFixture fixture) : IClassFixture<RealtimeServerFixture>
{
    [Fact]
    public async Task Sse_replays_since_a_sequence_then_follows_live_with_no_gap_and_no_duplicate_while_writes_go_on()
    {
        using var elena = fixture.Elena();
        const int before = 1000, during = 200;
        for (var i = 0; i < before; i++) (await elena.PutReplyAsync("/_data/watch/sse", "{\"k\":\"k" + i + "\",\"v\":{\"i\":" + i + "}}")).IsOk();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/_data/watch/sse?watch=1&since=0");
        using var response = await elena.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // Writes run while the replay is being read.
        var writer = Task.Run(async () =>
        {
            using var client = fixture.Elena();
            for (var i = before; i < before + during; i++) (await client.PutReplyAsync("/_data/watch/sse", "{\"k\":\"k" + i + "\",\"v\":{\"i\":" + i + "}}")).IsOk();
            (await client.DeleteReplyAsync("/_data/watch/sse?k=k0")).IsOk();
            (await client.PutReplyAsync("/_data/elsewhere", """{"k":"x","v":1}""")).IsOk(); // outside the prefix
        });

        var events = new List<JsonElement>();
        var ids = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (events.Count < before + during + 1)
        {
            var block = await ReadEventAsync(reader, timeout.Token);
            var change = JsonDocument.Parse(block["data"]).RootElement;
            // The event's id is the cursor after it, also in the change as `seq`.
            Assert.Equal(block["id"], change.GetProperty("seq").GetString());
            ids.Add(block["id"]);
            events.Add(change);
        }
        await writer;
        Assert.Equal(events.Count, ids.Distinct().Count());
        Assert.Equal(events.Count, events.Select(e => e.GetProperty("_ver_").GetString()).Distinct().Count());
        var puts = events.Where(e => e.GetProperty("op").GetString() == "put").ToList();
        Assert.Equal(Enumerable.Range(0, before + during), puts.Select(e => e.GetProperty("v").GetProperty("i").GetInt32()));
        var delete = events.Last();
        Assert.Equal("delete", delete.GetProperty("op").GetString());
        Assert.Equal("k0", delete.GetProperty("k").GetString());
        Assert.Equal(JsonValueKind.Null, delete.GetProperty("v").ValueKind);
        var first = puts[0];
        Assert.Equal("data", first.GetProperty("l").GetString());
        Assert.Equal("watch/sse", first.GetProperty("path").GetString());
        Assert.Equal("elena", first.GetProperty("by").GetString());
        Assert.True(first.GetProperty("t").GetInt64() > 1_600_000_000_000);
        Assert.DoesNotContain(events, e => e.GetProperty("path").GetString() == "elsewhere");

        // A reconnect that names the 500th event's id (as an EventSource does with Last-Event-ID) goes on with the 501st.
        using var again = new HttpRequestMessage(HttpMethod.Get, "/_data/watch/sse?watch=1");
        again.Headers.Add("Last-Event-ID", ids[499]);
        using var resumed = await elena.SendAsync(again, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        using var resumedReader = new StreamReader(await resumed.Content.ReadAsStreamAsync());
        for (var i = 500; i < events.Count; i++)
        {
            var block = await ReadEventAsync(resumedReader, timeout.Token);
            Assert.Equal(ids[i], block["id"]);
            Assert.Equal(events[i].GetProperty("_ver_").GetString(), JsonDocument.Parse(block["data"]).RootElement.GetProperty("_ver_").GetString());
        }
    }

    [Fact]
    public async Task A_live_sse_watch_has_every_write_made_once_its_headers_arrived()
    {
        using var elena = fixture.Elena();
        for (var round = 0; round < 5; round++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/_data/watch/live?watch=1");
            using var response = await elena.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // Written the moment the headers are in: the stream must already be following.
            (await elena.PutReplyAsync("/_data/watch/live", "{\"k\":\"r\",\"v\":" + round + "}")).IsOk();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var change = JsonDocument.Parse((await ReadEventAsync(reader, timeout.Token))["data"]).RootElement;
            Assert.Equal(round, change.GetProperty("v").GetInt32());
        }
    }

    [Fact]
    public async Task WebSocket_watch_streams_live_changes_of_the_callers_bucket_only()
    {
        var uri = new Uri(fixture.Server.BaseAddress, "/ws/watch?l=data&path=watch/ws").ToString().Replace("http://", "ws://");
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("elena:" + fixture.ElenaSecret));
        await using var watcher = await SignalClient.ConnectAsync(new Uri(uri), o => o.SetRequestHeader("Authorization", basic));

        using var mark = fixture.Mark();
        (await mark.PutReplyAsync("/_data/watch/ws", """{"k":"m","v":"mark's"}""")).IsOk();
        using var elena = fixture.Elena();
        (await elena.PutReplyAsync("/_data/watch/ws/deeper", """{"k":"e","v":{"x":true}}""")).IsOk();
        var change = await watcher.NextJsonAsync();
        Assert.Equal("put", change.GetProperty("op").GetString());
        Assert.Equal("watch/ws/deeper", change.GetProperty("path").GetString());
        Assert.Equal("e", change.GetProperty("k").GetString());
        Assert.True(change.GetProperty("v").GetProperty("x").GetBoolean());

        // A browser passes a bearer token in the query instead of a header.
        using var anonymous = fixture.Server.Client();
        var grant = (await anonymous.PostReplyAsync("/_sess", JsonSerializer.Serialize(new { k = "elena", v = new { password = RealtimeServerFixture.ElenaPassword } }))).IsOk().V;
        await using var browserLike = await SignalClient.ConnectAsync(new Uri(uri + "&since=0&access_token=" + grant.GetProperty("access_token").GetString()));
        Assert.Equal("watch/ws/deeper", (await browserLike.NextJsonAsync()).GetProperty("path").GetString());
    }

    [Fact]
    public async Task Watch_refusals_come_before_the_stream()
    {
        var baseWs = fixture.Server.BaseAddress.ToString().Replace("http://", "ws://");
        Assert.Equal(HttpStatusCode.Unauthorized, await SignalClient.RefusalAsync(new Uri(baseWs + "ws/watch?l=data&path=x")));
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("elena:" + fixture.ElenaSecret));
        Assert.Equal(HttpStatusCode.BadRequest, await SignalClient.RefusalAsync(new Uri(baseWs + "ws/watch?l=BAD&path=x"), o => o.SetRequestHeader("Authorization", basic)));
        Assert.Equal(HttpStatusCode.BadRequest, await SignalClient.RefusalAsync(new Uri(baseWs + "ws/watch?l=acc&path="), o => o.SetRequestHeader("Authorization", basic)));
        using var elena = fixture.Elena();
        (await elena.GetReplyAsync("/_data/x?watch=1&since=abc")).IsError("bad_param", HttpStatusCode.BadRequest);
        using var anonymous = fixture.Server.Client();
        (await anonymous.GetReplyAsync("/_data/x?watch=1")).IsError("unauthorized", HttpStatusCode.Unauthorized);
    }

    /// <summary>Reads one SSE event block ("field: value" lines up to a blank line), skipping comment-only blocks.</summary>
    private static async Task<Dictionary<string, string>> ReadEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var fields = new Dictionary<string, string>();
            while (true)
            {
                var line = await reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException();
                if (line.Length == 0) break;
                if (line[0] == ':') continue;
                var colon = line.IndexOf(':');
                fields[line[..colon]] = line[(colon + 1)..].TrimStart();
            }
            if (fields.Count > 0) return fields;
        }
    }
}
