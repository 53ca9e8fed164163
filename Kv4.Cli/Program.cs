using System.CommandLine;
using System.Runtime.InteropServices;
using Kv4.Cli.Commands;
using Kv4.Cli.Failures;
using Kv4.Cli.Transfer;
using Kv4.Cli.Watch;

// kv4: the command line of Kv4 (docs/cli.md). Ctrl-C and SIGTERM cancel the running command, which ends cleanly
// (a watch with exit 0, an export or import with its resume hint); a second Ctrl-C ends the process at once.
var options = new GlobalOptions();
// A plain command named kv4 rather than a RootCommand, which would take its name from the dll (Kv4.Cli).
var root = new Command("kv4", "kv4: the command line of the Kv4 time-series key/value store (docs/cli.md)")
{
    new System.CommandLine.Help.HelpOption(),
    new VersionOption(),
};
options.AddTo(root);
foreach (var command in new[]
         {
             PutCommand.Create(options), GetCommand.Create(options), DelCommand.Create(options), LsCommand.Create(options),
             PathsCommand.Create(options), HistoryCommand.Create(options), TreeCommand.Create(options), NsCommand.Create(options),
             WatchCommand.Create(options), ExportCommand.Create(options), ImportCommand.Create(options), AccCommand.Create(options),
             TokenCommand.Create(options), StatsCommand.Create(options), ClusterCommand.Create(options), Kv4.Cli.Backup.BackupCommand.Create(options), ProfileCommand.Create(options),
         })
    root.Subcommands.Add(command);

// `@file` arguments are values here (response files would take them), and so are JSON values.
var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine("kv4: " + error.Message);
    Console.Error.WriteLine("hint: kv4 --help lists the commands; kv4 COMMAND --help shows one");
    return ExitCodes.Usage;
}

using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext signal)
{
    if (stop.IsCancellationRequested) return;
    signal.Cancel = true;
    stop.Cancel();
}
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
try
{
    return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, stop.Token);
}
catch (Exception e)
{
    Console.Error.WriteLine("kv4: internal error: " + e);
    return ExitCodes.Internal;
}
