namespace Kv4.Cli.Failures;

/// <summary>
/// What `kv4` exits with, so a script can tell a typo from a refusal from an unreachable server (docs/cli.md,
/// "Exit codes").
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A failure of kv4 itself (a bug): the message says what.</summary>
    public const int Internal = 1;

    /// <summary>The command line or an input file is wrong: nothing was sent, or nothing more.</summary>
    public const int Usage = 2;

    /// <summary>The server answered `{"s":"error","v":CODE}`.</summary>
    public const int Server = 3;

    /// <summary>No Kv4 server could be talked to: refused or dropped connection, timeout, a reply that is not Kv4's.</summary>
    public const int Connection = 4;

    /// <summary>Ctrl-C (or SIGTERM) before the command finished; 128 + SIGINT as shells report it.</summary>
    public const int Interrupted = 130;
}
