namespace Kv4.Services.Api;

/// <summary>
/// The declarations of the built-in services: the one table of prefixes, folders, layers and what each allows.
/// <code>
/// prefix  folder     layer  watch  secrets  anonymous             signal token
/// data    Data       data   yes
/// ns      Namespace  ns
/// acc     Accounts   acc           yes
/// auth    Access     auth   yes
/// ds      Discovery
/// token   Tokens
/// sess    Sessions   sess          yes      POST "", POST refresh
/// host    Hosts                                                   whole
/// subs    Signal     subs   yes                                   its channel
/// turn    Turn
/// svc     External
/// stats   Stats      stats
/// cfg     Config     cfg    yes
/// cluster Cluster
/// backup  Backup
/// </code>
/// A registered external service gets <see cref="External"/>: no layer of this node's, nothing anonymous.
/// </summary>
public static class BuiltInServices
{
    public static readonly ServiceDeclaration Data = new()
    {
        Name = "data", Folder = "Data", Layer = "data", Watchable = true, Summary = "user data: the generic time-series layer",
    };

    public static readonly ServiceDeclaration Namespace = new() { Name = "ns", Folder = "Namespace", Layer = "ns", Summary = "the path tree of every layer" };

    public static readonly ServiceDeclaration Accounts = new()
    {
        Name = "acc", Folder = "Accounts", Layer = "acc", HoldsSecrets = true, Summary = "accounts, sub-accounts and admins",
    };

    public static readonly ServiceDeclaration Auth = new() { Name = "auth", Folder = "Access", Layer = "auth", Watchable = true, Summary = "the IP deny list" };

    public static readonly ServiceDeclaration Discovery = new() { Name = "ds", Folder = "Discovery", Summary = "the layers and paths in use" };

    public static readonly ServiceDeclaration Token = new() { Name = "token", Folder = "Tokens", Summary = "signal tokens" };

    public static readonly ServiceDeclaration Sessions = new()
    {
        Name = "sess", Folder = "Sessions", Layer = "sess", HoldsSecrets = true,
        AnonymousCalls = [(ApiMethod.Post, ""), (ApiMethod.Post, "refresh")], Summary = "login sessions and their bearer tokens",
    };

    public static readonly ServiceDeclaration Host = new() { Name = "host", Folder = "Hosts", SignalReach = SignalReach.Whole, Summary = "the best host for a service" };

    public static readonly ServiceDeclaration Subs = new()
    {
        Name = "subs", Folder = "Signal", Layer = "subs", Watchable = true, SignalReach = SignalReach.Channel, Summary = "presence: who is on a channel",
    };

    public static readonly ServiceDeclaration Turn = new() { Name = "turn", Folder = "Turn", Summary = "TURN credentials" };

    public static readonly ServiceDeclaration Registry = new() { Name = "svc", Folder = "External", Summary = "the external service registry" };

    public static readonly ServiceDeclaration Stats = new() { Name = "stats", Folder = "Stats", Layer = "stats", Summary = "usage measurements" };

    public static readonly ServiceDeclaration Cluster = new() { Name = "cluster", Folder = "Cluster", Summary = "the cluster's members and partitions ($sys)" };

    public static readonly ServiceDeclaration Backup = new() { Name = "backup", Folder = "Backup", Summary = "an online backup of everything stored ($sys)" };

    public static readonly ServiceDeclaration Config = new() { Name = "cfg", Folder = "Config", Layer = "cfg", Watchable = true, Summary = "configuration values" };

    public static IReadOnlyList<ServiceDeclaration> All { get; } =
        [Data, Namespace, Accounts, Auth, Discovery, Token, Sessions, Host, Subs, Turn, Registry, Stats, Config, Cluster, Backup];

    /// <summary>A registered external service, forwarded to its hosts.</summary>
    public static ServiceDeclaration External(string name) => new() { Name = name, Folder = "External", Summary = "a registered external service" };
}
