using System.Globalization;

namespace Kv4.Services.Turn;

/// <summary>
/// The configured TURN hosts with a load figure for each. coturn does not report its load to Kv4, so the figure is
/// what Kv4 itself sees: the credentials issued for the host during the current and the previous minute (each
/// issued credential is roughly one starting session). The least loaded host gets the next credential, so equal
/// hosts take turns.
///
/// State, for example, with two hosts at 12:00:40 after 3 issues at 11:59 and 2 this minute:
/// <code>
///   hosts    = ["turn1.example.com:3478", "turn2.example.com:3478"]
///   minute   = 12:00            (the minute the "current" counters belong to)
///   current  = [1, 1]           (issued during 12:00)
///   previous = [2, 1]           (issued during 11:59)
///   load     = current + previous = [3, 2]  → next credential is for turn2
/// </code>
/// At 12:01 the counters shift (previous = current, current = 0); after two idle minutes both are 0.
/// </summary>
public sealed class TurnHostPool
{
    public const int DefaultPort = 3478;

    private readonly TurnHost[] _hosts;
    private readonly long[] _current;
    private readonly long[] _previous;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private long _minute;

    public TurnHostPool(IEnumerable<string> hosts, TimeProvider clock)
        : this(hosts.Select(h => TurnHost.Parse(h, null)), clock)
    {
    }

    public TurnHostPool(IEnumerable<TurnHost> hosts, TimeProvider clock)
    {
        _hosts = hosts.ToArray();
        _current = new long[_hosts.Length];
        _previous = new long[_hosts.Length];
        _clock = clock;
    }

    public IReadOnlyList<TurnHost> Hosts => _hosts;

    public bool IsEmpty => _hosts.Length == 0;

    /// <summary>The least loaded host without counting an issue (for `_host?type=turn`).</summary>
    public TurnHost? Best()
    {
        lock (_lock)
        {
            Shift();
            return _hosts.Length == 0 ? null : _hosts[LeastLoaded()];
        }
    }

    /// <summary>Picks the least loaded host and counts one credential issued for it.</summary>
    public TurnHost Take()
    {
        lock (_lock)
        {
            if (_hosts.Length == 0) throw new InvalidOperationException("no TURN host configured");
            Shift();
            var i = LeastLoaded();
            _current[i]++;
            return _hosts[i];
        }
    }

    /// <summary>"host:port" with the default port added; IPv6 literals as "[::1]:3478". Refuses anything else.</summary>
    public static string Normalize(string raw)
    {
        var text = raw.Trim();
        if (text.Length == 0 || text.Contains('/') || text.Contains('?') || text.Any(char.IsWhiteSpace) || text.Any(char.IsControl))
            throw new FormatException($"TURN host '{raw}' is not HOST[:PORT]");
        var colon = text.LastIndexOf(':');
        var bracket = text.LastIndexOf(']');
        if (colon < 0 || colon < bracket) return text + ":" + DefaultPort.ToString(CultureInfo.InvariantCulture);
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535 || colon == 0)
            throw new FormatException($"TURN host '{raw}' is not HOST[:PORT]");
        return text;
    }

    private int LeastLoaded()
    {
        var best = 0;
        for (var i = 1; i < _hosts.Length; i++)
            if (_current[i] + _previous[i] < _current[best] + _previous[best]) best = i;
        return best;
    }

    private void Shift()
    {
        var minute = _clock.GetUtcNow().ToUnixTimeSeconds() / 60;
        if (minute == _minute) return;
        for (var i = 0; i < _hosts.Length; i++)
        {
            _previous[i] = minute == _minute + 1 ? _current[i] : 0;
            _current[i] = 0;
        }
        _minute = minute;
    }
}
