namespace Kv4.Services.External;

/// <summary>Forwarding to external service hosts, bound from `Kv4:External`.</summary>
public sealed class ExternalServiceOptions
{
    /// <summary>How long one forwarded attempt may take (connect, send, whole response) before the host counts as failed.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>How many hosts one request tries, least loaded first, before answering no_service_host.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Bound on a forwarded response body; larger answers count as a failed host.</summary>
    public int MaxResponseBytes { get; set; } = 4 * 1024 * 1024;
}
