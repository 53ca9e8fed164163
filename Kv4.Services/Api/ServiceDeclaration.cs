namespace Kv4.Services.Api;

/// <summary>
/// What a service is, said once, where the host, the watch streams, the signal scope and the OpenAPI document read it.
/// <code>
/// sess: Layer "sess", HoldsSecrets, anonymous POST "" (login) and POST "refresh"; not watchable
/// subs: Layer "subs", Watchable, a signal token reaches its own channel (and below)
/// host: no layer, a signal token reaches all of it
/// </code>
/// </summary>
public sealed record ServiceDeclaration
{
    /// <summary>The prefix without its underscore: "data" serves `/_data/...`.</summary>
    public required string Name { get; init; }

    /// <summary>The folder of Kv4.Services that holds it, where it differs from nothing else: the one map of prefixes to folders.</summary>
    public string? Folder { get; init; }

    /// <summary>The engine layer it owns; null for a service that stores nothing of its own (`_host`, `_turn`).</summary>
    public string? Layer { get; init; }

    /// <summary>`?watch=1` (and `/ws/watch?l=`) may stream the changes of its layer.</summary>
    public bool Watchable { get; init; }

    /// <summary>Its stored form holds credentials or session secrets: never streamed, never shown as stored.</summary>
    public bool HoldsSecrets { get; init; }

    /// <summary>The calls it answers without credentials, as (method, exact path).</summary>
    public IReadOnlyList<(ApiMethod Method, string Path)> AnonymousCalls { get; init; } = [];

    /// <summary>What a `_token` token presented as a bearer may do here (only ever GET).</summary>
    public SignalReach SignalReach { get; init; }

    /// <summary>One line for the OpenAPI document and the docs.</summary>
    public string Summary { get; init; } = "";

    public bool AllowsAnonymous(ApiMethod method, string path)
    {
        foreach (var (m, p) in AnonymousCalls)
            if (m == method && p == path) return true;
        return false;
    }
}

/// <summary>How far a signal token reaches into a service: nothing, its own channel and below, or the whole service.</summary>
public enum SignalReach
{
    None,
    Channel,
    Whole,
}
