namespace Kv4.Tests.Cli;

/// <summary>The exit codes docs/cli.md promises (the tests hold kv4 to the documented numbers, not to its own constants).</summary>
internal static class ExitCodes
{
    public const int Usage = 2;
    public const int Server = 3;
    public const int Connection = 4;
}
