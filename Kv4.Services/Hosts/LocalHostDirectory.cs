namespace Kv4.Services.Hosts;

/// <summary>
/// This node as a "signal" host: its WebSocket base, from the configured public URL (`Kv4:Node:PublicUrl`,
/// http→ws, https→wss, "/ws" appended), at the load of its live signal connections; and as an "api" host: the
/// public URL itself. Other nodes of a cluster
/// (and other types) come from further <see cref="IHostDirectory"/> implementations.
/// </summary>
/// <param name="publicUrl">Asked once, on first use: a host without a configured URL answers with the address it listens on, known only after start.</param>
public sealed class LocalHostDirectory(string nodeId, Func<string> publicUrl, Func<double>? signalLoad = null) : IHostDirectory
{
    public const string SignalType = "signal";
    public const string ApiType = "api";

    private readonly Lazy<string> _signalUrl = new(() => SignalBase(publicUrl()));

    public LocalHostDirectory(string nodeId, string publicUrl, Func<double>? signalLoad = null) : this(nodeId, () => publicUrl, signalLoad)
    {
    }

    public bool TryGetCandidates(string type, out IReadOnlyList<HostCandidate> candidates)
    {
        if (type == SignalType)
        {
            candidates = [new HostCandidate(nodeId, _signalUrl.Value, signalLoad?.Invoke() ?? 0)];
            return true;
        }
        if (type == ApiType)
        {
            candidates = [new HostCandidate(nodeId, ApiBase(publicUrl()), signalLoad?.Invoke() ?? 0)];
            return true;
        }
        candidates = [];
        return false;
    }

    /// <summary>"http://127.0.0.1:5000/" → "http://127.0.0.1:5000".</summary>
    public static string ApiBase(string publicUrl) => publicUrl.TrimEnd('/');

    /// <summary>"https://n1.example.com" → "wss://n1.example.com/ws"; "http://127.0.0.1:5000/" → "ws://127.0.0.1:5000/ws".</summary>
    public static string SignalBase(string publicUrl)
    {
        if (!Uri.TryCreate(publicUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new InvalidOperationException($"Kv4:Node:PublicUrl must be an absolute http or https URL, not '{publicUrl}'");
        var builder = new UriBuilder(uri) { Scheme = uri.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        builder.Path = builder.Path.TrimEnd('/') + "/ws";
        builder.Query = "";
        builder.Fragment = "";
        // UriBuilder keeps an explicit default port (":443" for wss); drop it so the URL reads as configured.
        if (uri.IsDefaultPort) builder.Port = -1;
        return builder.Uri.ToString().TrimEnd('/');
    }
}
