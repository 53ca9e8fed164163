using System.Buffers;
using System.Text;
using System.Text.Json;
using Kv4.Services.Api;

namespace Kv4.Tests.Platform;

/// <summary>Builds service calls and renders replies through the real envelope writer, for service-level tests.</summary>
internal static class ApiCalls
{
    public static readonly Caller System = new(Caller.SystemBucket, Caller.SystemBucket, CallerKind.System, []);
    public static readonly Caller Elena = new("elena", "elena", CallerKind.Account, []);

    public static ApiRequest Request(ApiMethod method, string service, string path = "", string? body = null,
        Caller? caller = null, params (string Name, string Value)[] query) =>
        new(method, service, path,
            ApiQuery.From(query.ToDictionary(q => q.Name, q => q.Value)),
            body is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(body),
            caller ?? Elena, Kv4.Tests.Support.NoStorage.For((caller ?? Elena).Bucket));

    public static string Render(in ApiReply reply)
    {
        var buffer = new ArrayBufferWriter<byte>();
        ReplyEnvelope.Write(buffer, reply);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The `v` of an ok reply (fails the test on an error reply).</summary>
    public static JsonElement Value(in ApiReply reply)
    {
        var text = Render(reply);
        using var document = JsonDocument.Parse(text);
        Assert.True(document.RootElement.GetProperty("s").GetString() == "ok", text);
        return document.RootElement.TryGetProperty("v", out var v) ? v.Clone() : default;
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;

    public void Set(DateTimeOffset now) => _now = now;
}
