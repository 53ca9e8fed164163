using System.Globalization;

namespace Kv4.Services.Turn;

/// <summary>
/// One ICE server a TURN host is offered as: `SCHEME[:PORT][?transport=udp|tcp]` with SCHEME `stun`, `turn` or `turns`
/// (TURN over TLS). Without a port the entry uses its host's port (3478 unless the host names one). Examples, for host
/// "turn1.example.com": "turn:80?transport=udp" gives `turn:turn1.example.com:80?transport=udp`, "stun" gives
/// `stun:turn1.example.com:3478`, "turns:443?transport=tcp" gives `turns:turn1.example.com:443?transport=tcp`.
/// </summary>
public sealed record IceEntry(string Scheme, int? Port, string? Transport)
{
    /// <summary>
    /// The Xirsys v3 set: STUN, TURN over UDP and TCP on 80 and on the host's port, TURN over TLS on 443 and 5349.
    /// Ports 80 and 443 get through firewalls that let only web traffic out.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultSet =
    [
        "stun", "turn:80?transport=udp", "turn?transport=udp", "turn:80?transport=tcp", "turn?transport=tcp",
        "turns:443?transport=tcp", "turns:5349?transport=tcp",
    ];

    public bool HasCredentials => Scheme != "stun";

    /// <summary>The URL for a host given as its name (IPv6 in brackets) and its port.</summary>
    public string Url(string hostName, int hostPort) =>
        Scheme + ":" + hostName + ":" + (Port ?? hostPort).ToString(CultureInfo.InvariantCulture) + (Transport is null ? "" : "?transport=" + Transport);

    /// <summary>Parses one configured entry; a malformed one stops the server at start.</summary>
    public static IceEntry Parse(string raw)
    {
        var text = raw.Trim();
        string? transport = null;
        var question = text.IndexOf('?');
        if (question >= 0)
        {
            var option = text[(question + 1)..];
            transport = option switch
            {
                "transport=udp" => "udp",
                "transport=tcp" => "tcp",
                _ => throw Malformed(raw),
            };
            text = text[..question];
        }
        int? port = null;
        var colon = text.IndexOf(':');
        if (colon >= 0)
        {
            if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                throw Malformed(raw);
            port = p;
            text = text[..colon];
        }
        if (text is not ("stun" or "turn" or "turns")) throw Malformed(raw);
        if (text == "stun" && transport is not null) throw Malformed(raw);
        return new IceEntry(text, port, transport);
    }

    private static FormatException Malformed(string raw) =>
        new($"ICE entry '{raw}' is not stun|turn|turns[:PORT][?transport=udp|tcp]");
}
