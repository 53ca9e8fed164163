namespace Kv4.Cli.Failures;

/// <summary>The three ways a command fails that a user can act on; each has its own exit code.</summary>
public enum FailureKind
{
    Usage,
    Server,
    Connection,
}
