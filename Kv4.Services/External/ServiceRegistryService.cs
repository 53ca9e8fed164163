using System.Text.Json;
using Kv4.Engine.Rules;
using Kv4.Services.Api;
using Kv4.Services.Common;

namespace Kv4.Services.External;

/// <summary>
/// `_svc`: where external service hosts register and renew (http-api.md §5.8 External services). Only the system login (`$sys`) may use it,
/// since a registration redirects other tenants' traffic.
/// <list type="bullet">
/// <item>`PUT /_svc/&lt;name&gt; {"k":"&lt;host id&gt;","v":{"url":"http://10.0.0.5:9000","load":10,"capacity":100,"ttl":30,"token":".."}}`
///   registers or renews (the heartbeat); `ttl` seconds 1..3600, default 30; `load`/`capacity` default 0; `token` optional,
///   sent back to the host as X-Kv4-Proxy-Token. `v` = the registration as stored.</item>
/// <item>`GET /_svc`: the names with live registrations. `GET /_svc/&lt;name&gt;`: its hosts, `?k=` one host.</item>
/// <item>`DELETE /_svc/&lt;name&gt;?k=&lt;host id&gt;`: deregisters (`v` 1 or 0).</item>
/// </list>
/// </summary>
public sealed class ServiceRegistryService(ExternalServiceRegistry registry) : IApiService
{
    public const int DefaultTtlSeconds = 30;
    public const int MaxTtlSeconds = 3600;
    public const int MaxUrlLength = 2048;
    public const int MaxTokenLength = 256;

    public ServiceDeclaration Declaration => BuiltInServices.Registry;

    public ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        if (!request.Caller.IsSystem) return ValueTask.FromResult<ApiReply>(ErrorCode.Forbidden);
        if (request.Path.Length > 0 && (request.Path.Contains('/') || !AddressRules.IsValidLayer(request.Path)))
            return ValueTask.FromResult<ApiReply>(ErrorCode.BadPath);
        return ValueTask.FromResult(request.Method switch
        {
            ApiMethod.Get => Get(request),
            ApiMethod.Put => Register(request),
            ApiMethod.Delete => Deregister(request),
            _ => ApiReply.Fail(ErrorCode.MethodNotAllowed),
        });
    }

    private ApiReply Get(ApiRequest request)
    {
        if (request.Path.Length == 0) return ApiReply.OkStrings(registry.ServiceNames());
        var hosts = registry.Registrations(request.Path);
        if (request.Query.Get("k") is { } key)
        {
            foreach (var (host, down) in hosts)
                if (host.HostId == key) return ApiReply.OkWriter(w => WriteHost(w, host, down));
            return ErrorCode.NotFound;
        }
        return ApiReply.OkWriter(w =>
        {
            w.WriteStartArray();
            foreach (var (host, down) in hosts) WriteHost(w, host, down);
            w.WriteEndArray();
        });
    }

    private ApiReply Register(ApiRequest request)
    {
        if (request.Path.Length == 0) return ErrorCode.BadPath;
        if (!TryParse(request.Body, out var hostId, out var url, out var load, out var capacity, out var ttl, out var token, out var error))
            return error;
        if (!registry.Register(request.Path, hostId, url, load, capacity, ttl, token)) return ErrorCode.RateLimited;
        var host = registry.Registrations(request.Path).First(r => r.Host.HostId == hostId).Host;
        return ApiReply.OkWriter(w => WriteHost(w, host, down: false));
    }

    private ApiReply Deregister(ApiRequest request)
    {
        if (request.Path.Length == 0) return ErrorCode.BadPath;
        if (request.Query.Get("k") is not { } key || !AddressRules.IsValidKey(key)) return ErrorCode.BadKey;
        return ApiReply.OkNumber(registry.Remove(request.Path, key) ? 1 : 0);
    }

    private static void WriteHost(Utf8JsonWriter w, ServiceHost host, bool down)
    {
        w.WriteStartObject();
        w.WriteString("k", host.HostId);
        w.WriteString("url", host.Url.ToString());
        w.WriteNumber("load", host.Load);
        w.WriteNumber("capacity", host.Capacity);
        w.WriteNumber("ttl", (long)host.Ttl.TotalSeconds);
        w.WriteNumber("expires", host.ExpiresAt.ToUnixTimeSeconds());
        w.WriteBoolean("down", down);
        w.WriteEndObject(); // the proxy token is never echoed
    }

    private static bool TryParse(ReadOnlyMemory<byte> body, out string hostId, out Uri url, out double load, out double capacity,
        out TimeSpan ttl, out string? token, out ErrorCode error)
    {
        hostId = "";
        url = null!;
        load = capacity = 0;
        ttl = TimeSpan.FromSeconds(DefaultTtlSeconds);
        token = null;
        if (!RequestBody.TryParse(body, out var request, out error)) return false;
        if (request.Key is null)
        {
            error = ErrorCode.BadKey;
            return false;
        }
        hostId = request.Key;
        error = ErrorCode.BadParam;
        if (request.Value is not { } value) return false;
        using var document = JsonDocument.Parse(value);
        var v = document.RootElement;
        if (v.ValueKind != JsonValueKind.Object) return false;
        if (!v.TryGetProperty("url", out var u) || u.ValueKind != JsonValueKind.String) return false;
        var text = u.GetString()!;
        if (text.Length > MaxUrlLength || !Uri.TryCreate(text, UriKind.Absolute, out var parsed)
            || parsed.Scheme is not ("http" or "https") || parsed.Query.Length > 0 || parsed.UserInfo.Length > 0) return false;
        url = parsed;
        if (!TryNumber(v, "load", out load) || !TryNumber(v, "capacity", out capacity)) return false;
        if (v.TryGetProperty("ttl", out var t))
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out var seconds) || seconds is < 1 or > MaxTtlSeconds) return false;
            ttl = TimeSpan.FromSeconds(seconds);
        }
        if (v.TryGetProperty("token", out var tok))
        {
            if (tok.ValueKind != JsonValueKind.String || tok.GetString()!.Length is 0 or > MaxTokenLength) return false;
            token = tok.GetString();
            if (token!.Any(char.IsControl)) return false;
        }
        return true;
    }

    private static bool TryNumber(JsonElement v, string name, out double number)
    {
        number = 0;
        if (!v.TryGetProperty(name, out var e)) return true;
        return e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out number) && double.IsFinite(number) && number >= 0;
    }
}
