namespace Kv4.Cli.Failures;

/// <summary>
/// A command that cannot go on: the one-line message and hint printed on stderr, and the exit code. A server
/// refusal also keeps its error code and raw reply (printed as is with `--json`).
/// </summary>
public sealed class CliFailure : Exception
{
    private CliFailure(FailureKind kind, string message, string? hint, string? code, string? rawReply, Exception? inner)
        : base(message, inner)
    {
        Kind = kind;
        Hint = hint;
        Code = code;
        RawReply = rawReply;
    }

    public FailureKind Kind { get; }

    public string? Hint { get; }

    /// <summary>The server's error code (`not_found`, `unauthorized`, ...), for a server refusal.</summary>
    public string? Code { get; }

    /// <summary>The reply body as the server sent it, for a server refusal.</summary>
    public string? RawReply { get; }

    public int ExitCode => Kind switch
    {
        FailureKind.Usage => ExitCodes.Usage,
        FailureKind.Server => ExitCodes.Server,
        _ => ExitCodes.Connection,
    };

    public static CliFailure Usage(string message, string? hint = null) => new(FailureKind.Usage, message, hint, null, null, null);

    public static CliFailure Server(string code, string rawReply, string? hint) =>
        new(FailureKind.Server, "server error: " + code, hint, code, rawReply, null);

    public static CliFailure Connection(string message, string? hint = null, Exception? inner = null) =>
        new(FailureKind.Connection, message, hint, null, null, inner);
}
