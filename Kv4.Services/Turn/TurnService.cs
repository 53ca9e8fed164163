using System.Text;
using System.Text.Json;
using Kv4.Engine.Rules;
using Kv4.Services.Api;
using Kv4.Services.External;

namespace Kv4.Services.Turn;

/// <summary>
/// `_turn` (http-api.md §5.7). `PUT /_turn/&lt;path&gt;[?k=&lt;user&gt;]` answers
/// <c>{"iceServers":[{"urls":"stun:h:3478","url":"stun:h:3478"},
///   {"urls":"turn:h:80?transport=udp","url":..,"username":..,"credential":..},
///   {"urls":"turn:h:3478?transport=udp",..}, ..., {"urls":"turns:h:5349?transport=tcp",..}]}</c>
/// (the host's ICE entries, <see cref="IceEntry"/>; by default the Xirsys v3 set of seven)
/// for the least loaded configured TURN host, with TURN REST API credentials valid for
/// <see cref="TurnOptions.TtlSeconds"/>; the username's ident is `k` when given, else the caller's bucket.
/// When an external service named `turn` is registered (http-api.md §5.8 External services), every `_turn` call is forwarded to it instead.
/// Neither configured nor registered: no_service_host.
/// </summary>
public sealed class TurnService : IApiService
{
    public static readonly string ServiceName = BuiltInServices.Turn.Name;

    private readonly TurnOptions _options;
    private readonly TurnHostPool _pool;
    private readonly byte[] _secret;
    private readonly TimeProvider _clock;
    private readonly ExternalServiceRegistry? _registry;
    private readonly ExternalServiceForwarder? _forwarder;

    public TurnService(TurnOptions options, TimeProvider clock, ExternalServiceRegistry? registry = null, ExternalServiceForwarder? forwarder = null)
    {
        _options = options;
        _clock = clock;
        _registry = registry;
        _forwarder = forwarder;
        _pool = new TurnHostPool(options.IsConfigured ? options.ResolveHosts() : [], clock);
        _secret = Encoding.UTF8.GetBytes(options.Secret ?? "");
        if (options.IsConfigured && options.TtlSeconds < 1) throw new ArgumentOutOfRangeException(nameof(options), "Kv4:Turn:TtlSeconds must be positive");
    }

    public ServiceDeclaration Declaration => BuiltInServices.Turn;

    /// <summary>The configured hosts, for `_host?type=turn`.</summary>
    public TurnHostPool Pool => _pool;

    public ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        if (_registry is not null && _forwarder is not null && _registry.IsRegistered(ServiceName))
            return _forwarder.ForwardAsync(request, ServiceName);
        if (request.Method != ApiMethod.Put) return ValueTask.FromResult<ApiReply>(ErrorCode.MethodNotAllowed);
        if (_pool.IsEmpty) return ValueTask.FromResult<ApiReply>(ErrorCode.NoServiceHost);

        var ident = request.Caller.Bucket;
        if (request.Query.Get("k") is { } user)
        {
            if (!AddressRules.IsValidKey(user)) return ValueTask.FromResult<ApiReply>(ErrorCode.BadKey);
            ident = user;
        }
        var host = _pool.Take();
        var username = TurnRestCredentials.Username(_clock.GetUtcNow().AddSeconds(_options.TtlSeconds), ident);
        var credential = TurnRestCredentials.Credential(_secret, username);
        return ValueTask.FromResult(ApiReply.OkWriter(w => WriteIceServers(w, host, username, credential)));
    }

    private static void WriteIceServers(Utf8JsonWriter w, TurnHost host, string username, string credential)
    {
        w.WriteStartObject();
        w.WriteStartArray("iceServers");
        foreach (var entry in host.Ice)
            WriteServer(w, entry.Url(host.Name, host.Port), entry.HasCredentials ? username : null, credential);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteServer(Utf8JsonWriter w, string url, string? username, string? credential)
    {
        w.WriteStartObject();
        w.WriteString("urls", url);
        w.WriteString("url", url);
        if (username is not null)
        {
            w.WriteString("username", username);
            w.WriteString("credential", credential);
        }
        w.WriteEndObject();
    }
}
