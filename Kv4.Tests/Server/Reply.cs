using System.Net;
using System.Text.Json;

namespace Kv4.Tests.Server;

/// <summary>An HTTP reply of the API: status, raw body and the parsed envelope.</summary>
public sealed record Reply(HttpStatusCode Status, string Body, HttpResponseMessage Message)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string S => Json.GetProperty("s").GetString()!;

    public JsonElement V => Json.GetProperty("v");

    public bool HasV => Json.TryGetProperty("v", out _);

    /// <summary>Asserts an error envelope with this code and HTTP status.</summary>
    public Reply IsError(string code, HttpStatusCode status)
    {
        Assert.True(status == Status, $"expected {(int)status} {code}, got {(int)Status}: {Body}");
        Assert.Equal("application/json", Message.Content.Headers.ContentType?.MediaType);
        Assert.Equal("error", S);
        Assert.Equal(code, V.GetString());
        return this;
    }

    public Reply IsOk()
    {
        Assert.True(Status == HttpStatusCode.OK, $"expected 200 ok, got {(int)Status}: {Body}");
        Assert.Equal("ok", S);
        return this;
    }

    public static async Task<Reply> SendAsync(HttpClient client, HttpMethod method, string uri, string? body = null)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var response = await client.SendAsync(request);
        return new Reply(response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }
}

public static class ReplyClientExtensions
{
    public static Task<Reply> GetReplyAsync(this HttpClient client, string uri) => Reply.SendAsync(client, HttpMethod.Get, uri);

    public static Task<Reply> PutReplyAsync(this HttpClient client, string uri, string? body = null) => Reply.SendAsync(client, HttpMethod.Put, uri, body);

    public static Task<Reply> PostReplyAsync(this HttpClient client, string uri, string? body = null) => Reply.SendAsync(client, HttpMethod.Post, uri, body);

    public static Task<Reply> DeleteReplyAsync(this HttpClient client, string uri) => Reply.SendAsync(client, HttpMethod.Delete, uri);
}
