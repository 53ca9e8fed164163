using System.CommandLine;
using Kv4.Cli.Commands;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Backup;

/// <summary>
/// `kv4 backup FILE`: an online backup of the whole server (or cluster) from `GET /_backup` (`$sys` only), written to
/// FILE.partial and renamed to FILE only once the server sent it all, so FILE is never a backup cut short; `-` writes
/// to stdout. Restored with `Kv4.Server restore FILE` into an empty data directory (docs/operations.md, "Backups").
/// </summary>
public static class BackupCommand
{
    public const string MediaType = "application/vnd.kv4.backup";

    public static Command Create(GlobalOptions options)
    {
        var file = new Argument<string>("file") { Description = "the file to write (- for stdout)" };
        var command = new Command("backup", "write an online backup of everything the server stores ($sys)") { file };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var target = context.Value(file);
            using var response = await context.Client.OpenStreamAsync(ApiTarget.For("backup", ""), MediaType, cancellationToken);
            var partial = target == "-" ? null : target + ".partial";
            long bytes;
            try
            {
                await using var output = partial is null ? Console.OpenStandardOutput() : File.Create(partial);
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                await body.CopyToAsync(output, cancellationToken);
                bytes = output.CanSeek ? output.Length : -1;
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                if (partial is not null) File.Delete(partial);
                throw CliFailure.Connection($"the backup broke off: {e.Message}", "nothing was kept; run kv4 backup again");
            }
            catch
            {
                if (partial is not null) File.Delete(partial);
                throw;
            }
            if (partial is not null) File.Move(partial, target, overwrite: true);
            context.Error.WriteLine($"kv4: backup written to {(partial is null ? "stdout" : $"{target} ({bytes} bytes)")}; restore it with: Kv4.Server restore FILE --Kv4:DataDir=DIR");
            return 0;
        });
        return command;
    }
}
