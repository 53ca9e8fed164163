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
                Report(context.Error, failure);
                return failure.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Error.WriteLine("kv4: interrupted");
                return ExitCodes.Interrupted;
            }
        });

    public static void Report(TextWriter error, CliFailure failure)
    {
        error.WriteLine("kv4: " + failure.Message);
        if (failure.Hint is not null) error.WriteLine("hint: " + failure.Hint);
    }
}
