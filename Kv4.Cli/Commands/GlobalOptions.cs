using System.CommandLine;

namespace Kv4.Cli.Commands;

/// <summary>The options every command takes (connection, layer, output), given before or after the command.</summary>
public sealed class GlobalOptions
{
    public Option<string?> Url { get; } = new("--url") { Description = "server URL [KV4_URL, default http://127.0.0.1:4000]", Recursive = true };

    public Option<string?> User { get; } = new("--user", "-u") { Description = "login: ACCOUNT, ACCOUNT#SUB, ACCOUNT:ADMIN or $sys [KV4_USER]", Recursive = true };

    public Option<string?> Secret { get; } = new("--secret") { Description = "the login's secret (or #password forms of docs/api.md) [KV4_SECRET]", Recursive = true };

    public Option<string?> Profile { get; } = new("--profile", "-p") { Description = "a server and login from the profile file [KV4_PROFILE]", Recursive = true };

    public Option<string> Layer { get; } = new("--layer", "-l")
    {
        Description = "the layer of put/get/del/ls/paths/history/watch/export/import (data, cfg, ...)",
        DefaultValueFactory = _ => "data",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json") { Description = "print the server's replies as they came (one per line), for scripts", Recursive = true };

    public Option<int> Timeout { get; } = new("--timeout")
    {
        Description = "seconds to wait for a reply",
        DefaultValueFactory = _ => 30,
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        foreach (var option in new Option[] { Url, User, Secret, Profile, Layer, Json, Timeout }) root.Options.Add(option);
    }
}
