using System.CommandLine;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Commands;

/// <summary>
/// Runs a command's body and turns the way it ends into the exit code: a <see cref="CliFailure"/> prints
/// `kv4: MESSAGE` and `hint: ...` on stderr (with `--json`, a server's error reply also goes to stdout as it came),
/// Ctrl-C exits 130 unless the command treats it as its normal end.
/// </summary>
public static class CommandAction
{
    public static void Set(Command command, GlobalOptions options, Func<CommandContext, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var context = new CommandContext(parse, options);
            try
            {
                return await body(context, cancellationToken);
            }
            catch (CliFailure failure)
            {
                if (failure.RawReply is not null && context.Json) context.Out.WriteLine(failure.RawReply);
                Report(context.Error, failure, CommandLine(parse));
                return failure.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Error.WriteLine("kv4: interrupted");
                return ExitCodes.Interrupted;
            }
        });

    /// <summary>The message and its hint; a failure without a hint of its own gets the general one for its kind.</summary>
    public static void Report(TextWriter error, CliFailure failure, string command)
    {
        error.WriteLine("kv4: " + failure.Message);
        error.WriteLine("hint: " + (failure.Hint ?? failure.Kind switch
        {
            FailureKind.Usage => command + " --help shows what it takes",
            FailureKind.Connection => "is the server up and reachable? (--url, KV4_URL or the profile)",
            _ => "see docs/api.md, \"Replies and errors\"",
        }));
    }

    /// <summary>`kv4 acc admin put` for the command that ran.</summary>
    private static string CommandLine(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(result.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
