using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kv4.Tests.Server;

/// <summary>
/// Sends a request target byte for byte over a socket. HttpClient (System.Uri) removes `..` segments and
/// decodes escapes before sending, so the bad-path tests need this to put `/_data/a/../b` on the wire.
/// </summary>
public static class RawHttp
{
    public static async Task<(HttpStatusCode Status, string Body)> SendAsync(Uri server, string method, string target,
        string? authorization = null, string? body = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        await using var stream = client.GetStream();
        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder()
            .Append($"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        if (authorization is not null) head.Append($"Authorization: {authorization}\r\n");
        if (body is not null) head.Append($"Content-Type: application/json\r\nContent-Length: {bodyBytes.Length}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        await stream.WriteAsync(bodyBytes);
        return await ReadResponseAsync(stream);
    }

    /// <summary>Sends <paramref name="request"/> as written (request line, headers and body framing included) and reads the answer.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> SendRawAsync(Uri server, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        return await ReadResponseAsync(stream);
    }

    /// <summary>Reads one response until the server closes the connection (requests here say `Connection: close`).</summary>
    public static async Task<(HttpStatusCode Status, string Body)> ReadResponseAsync(Stream stream)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var statusLine = response[..response.IndexOf("\r\n", StringComparison.Ordinal)];
        var status = (HttpStatusCode)int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headerEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headers = response[..headerEnd];
        var content = response[(headerEnd + 4)..];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)) content = Dechunk(content);
        return (status, content);
    }

    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd], 16);
            if (size == 0) break;
            result.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
        return result.ToString();
    }
}
