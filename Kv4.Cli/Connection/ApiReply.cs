using System.Text.Json;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Connection;

/// <summary>
/// An `{"s":"ok","v":..}` reply: the body as sent (for `--json`), its `v`, and `next` when a listing has more
/// pages (docs/api.md, "Paging"). Error envelopes never become one: they are thrown as <see cref="CliFailure"/>.
/// </summary>
public sealed class ApiReply
{
    private ApiReply(string raw, JsonElement value, string? next)
    {
        Raw = raw;
        V = value;
        Next = next;
    }

    public string Raw { get; }

    public JsonElement V { get; }

    public string? Next { get; }

    /// <summary>Reads a reply body; a Kv4 error envelope is thrown as a server failure, anything else not Kv4's as a connection failure.</summary>
    public static ApiReply Parse(string body, int status, string what)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw NotKv4(status, what);
        }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("s", out var s) || s.ValueKind != JsonValueKind.String)
            throw NotKv4(status, what);
        if (s.GetString() == "error")
        {
            var code = root.TryGetProperty("v", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "unknown";
            throw CliFailure.Server(code, body, ErrorHints.For(code));
        }
        if (s.GetString() != "ok") throw NotKv4(status, what);
        var value = root.TryGetProperty("v", out var found) ? found : default;
        var next = root.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        return new ApiReply(body, value, next);
    }

    private static CliFailure NotKv4(int status, string what) =>
        CliFailure.Connection($"HTTP {status} from {what} is not a Kv4 reply", "is the URL (--url, KV4_URL, the profile) a Kv4 server?");
}
