using Kv4.Engine;
using Kv4.Engine.Rules;

namespace Kv4.Server.Configuration;

/// <summary>
/// The server's knobs, bound from the "Kv4" configuration section (appsettings.json, `Kv4__...` environment
/// variables, `--Kv4:...` command-line arguments). The names are public: tooling outside the project uses them.
/// </summary>
public sealed class Kv4Options
{
    public const string Section = "Kv4";

    /// <summary>The data directory, relative to the working directory unless absolute.</summary>
    public string DataDir { get; set; } = "kv4-data";

    /// <summary>`sync`: a write is acknowledged once durable; `interval`: the log is committed every <see cref="CommitIntervalMs"/>.</summary>
    public DurabilityMode Durability { get; set; } = DurabilityMode.Interval;

    public int CommitIntervalMs { get; set; } = 5;

    /// <summary>The `$sys` secret from configuration. The environment variable KV4_SYS_SECRET wins over it; with neither, one is generated into the data directory.</summary>
    public string? SysSecret { get; set; }

    public ApiOptions Api { get; set; } = new();

    public NodeOptions Node { get; set; } = new();

    public JwtOptions Jwt { get; set; } = new();

    /// <summary>The signal WebSocket's limits (`Kv4:Signal:SendQueueFrames`, `MaxFrameBytes`, `IdleTimeoutSeconds`).</summary>
    public Kv4.Services.Signal.SignalOptions Signal { get; set; } = new();

    /// <summary>Login session lifetimes (`Kv4:Sessions:AccessTokenSeconds`, `RefreshTokenDays`).</summary>
    public Kv4.Services.Sessions.SessionOptions Sessions { get; set; } = new();

    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>`Kv4:Cors:Origins:0=https://app.example.com`: the pages that may call the API from a browser.</summary>
    public ApiCorsOptions Cors { get; set; } = new();

    /// <summary>Failed-login throttling (`Kv4:Login:FailuresAllowed`, `AddressFailuresAllowed`, `WindowSeconds`, `DelaySeconds`, `MaxDelaySeconds`, `MaxTracked`).</summary>
    public Kv4.Services.Accounts.LoginOptions Login { get; set; } = new();

    /// <summary>
    /// `Kv4:Turn:Hosts:0=HOST:PORT`, `Kv4:Turn:Ice:0=turn:80?transport=udp`, `Kv4:Turn:Servers:0:Host` (with its own
    /// `Ice`), `Kv4:Turn:Secret`, `Kv4:Turn:TtlSeconds`: the built-in `_turn` issuer.
    /// </summary>
    public Kv4.Services.Turn.TurnOptions Turn { get; set; } = new();

    /// <summary>`Kv4:External:TimeoutSeconds`, `MaxAttempts`, `MaxResponseBytes`: forwarding to external service hosts.</summary>
    public Kv4.Services.External.ExternalServiceOptions External { get; set; } = new();

    /// <summary>`Kv4:Stats:FlushSeconds`: how often recorded stats are written as rollups (default 15).</summary>
    public Kv4.Services.Stats.StatsOptions Stats { get; set; } = new();

    /// <summary>`Kv4:Log:SegmentSizeMB`: the log's segment size (see <see cref="LogOptions"/>).</summary>
    public LogOptions Log { get; set; } = new();

    /// <summary>`Kv4:Retention:*`: which versions are kept, per layer and path prefix (see <see cref="RetentionOptions"/>).</summary>
    public RetentionOptions Retention { get; set; } = new();

    /// <summary>`Kv4:Compaction:IntervalSeconds`, `MinReclaimPercent`: when retention is enforced (see <see cref="CompactionOptions"/>).</summary>
    public CompactionOptions Compaction { get; set; } = new();

    /// <summary>`Kv4:Cluster:*`: set, the server is a node of a cluster (docs/cluster.md); unset, a single node.</summary>
    public ClusterSettings Cluster { get; set; } = new();

    public string DataDirFullPath => Path.GetFullPath(DataDir);
}

public sealed class ApiOptions
{
    /// <summary>Answer every application error with HTTP 200 (the body still says `"s":"error"`), as the Xirsys v3 servers did.</summary>
    public bool ErrorsAsOk { get; set; }

    /// <summary>The largest stored value, in bytes of compact JSON.</summary>
    public int MaxValueBytes { get; set; } = JsonValueRules.DefaultMaxValueBytes;

    /// <summary>
    /// The largest request body. It is the value limit plus room for the request's own members
    /// (`k`, `k2`..`k4`, `_ver_`) and white space, so a body just over it is refused before it is buffered.
    /// </summary>
    public int MaxBodyBytes { get; set; } = JsonValueRules.DefaultMaxValueBytes + 64 * 1024;

    /// <summary>
    /// The slowest a request body may arrive once <see cref="BodyGraceSeconds"/> have passed: a body that
    /// trickles in slower is cut off and answered `request_timeout` 408, so a slow client cannot hold a request
    /// open. 0 turns the check off.
    /// </summary>
    public int MinBodyBytesPerSecond { get; set; } = 240;

    /// <summary>How long a body may arrive at any pace before <see cref="MinBodyBytesPerSecond"/> applies (at least 2: Kestrel checks once a second).</summary>
    public int BodyGraceSeconds { get; set; } = 5;

    /// <summary>How long the request line and headers may take to arrive; Kestrel answers a bare 408 after it.</summary>
    public int HeadersTimeoutSeconds { get; set; } = 15;

    /// <summary>
    /// About the most one listing or history reply carries, in bytes: the reply stops before the item that would pass
    /// it and offers a `next` cursor. At least one item is always sent, so keep it above MaxValueBytes.
    /// </summary>
    public long MaxReplyBytes { get; set; } = Kv4.Services.Api.ReplyStream.DefaultBudget;
}

/// <summary>
/// The log on disk. `SegmentSizeMB` is the size of its segment files and the unit space is reclaimed in: a power of two
/// from 16 to 65536, default 1024. It is fixed when the data directory is created; another value later stops the start.
/// </summary>
public sealed class LogOptions
{
    public int SegmentSizeMB { get; set; } = 1024;

    public bool IsValid => SegmentSizeMB is >= 16 and <= 1 << 16 && (SegmentSizeMB & (SegmentSizeMB - 1)) == 0;
}

public sealed class NodeOptions
{
    /// <summary>This node's public base URL (e.g. https://node1.example.com), used by `_host`.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>This node's id, stamped as `origin` on its presence entries; keep it stable across restarts. Default: the host name.</summary>
    public string? Id { get; set; }
}

public sealed class JwtOptions
{
    /// <summary>The HMAC-SHA256 key (at least 32 bytes of UTF-8). Without it one is generated into the data directory.</summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "kv4";

    public string Audience { get; set; } = "kv4";
}

public sealed class RateLimitOptions
{
    /// <summary>Requests per second allowed to one bucket; 0 (the default) turns the limiter off.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>How many requests a bucket may make at once after being idle; 0 means <see cref="PermitsPerSecond"/>.</summary>
    public int Burst { get; set; }

    public bool Enabled => PermitsPerSecond > 0;
}

/// <summary>
/// Which browser origins may call the API template directly (CORS), each exactly as a browser sends it in
/// `Origin`: `https://app.example.com` or `http://127.0.0.1:8080`, no path, no trailing `/`, never `*` (the
/// calls carry credentials). None by default: then no CORS header is ever sent.
/// </summary>
public sealed class ApiCorsOptions
{
    public string[] Origins { get; set; } = [];

    public bool Enabled => Origins.Length > 0;

    /// <summary>Every origin is `scheme://host[:port]` with http or https; `*`, a path or a trailing `/` would never match a browser's `Origin`.</summary>
    public bool OriginsAreExact => Origins.All(origin =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        && origin == uri.GetLeftPart(UriPartial.Authority) && uri.UserInfo.Length == 0);
}
