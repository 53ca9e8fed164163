using System.CommandLine;
using Kv4.Cli.Commands;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;

namespace Kv4.Cli.Transfer;

/// <summary>
/// `kv4 export PATH [FILE] [--resume]`: every version of every key at and under PATH in the layer, as JSON lines
/// (<see cref="ExportFormat"/>); to stdout without FILE. The paths come from `_ds` (paths holding live entries), each
/// path's versions from its `time_series=1&amp;format=full` history, page by page. `--resume` continues a file that
/// was cut short: it keeps the complete groups, drops a partial last one and exports the paths not yet in it.
/// </summary>
public static class ExportCommand
{
    private const int PageSize = 1000;

    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "what to export: this path and everything below it (/ for the whole layer)" };
        var file = new Argument<string?>("file") { Description = "the file to write (default: stdout)", Arity = ArgumentArity.ZeroOrOne };
        var resume = new Option<bool>("--resume") { Description = "continue a FILE an earlier export left unfinished" };
        var command = new Command("export", "write every version under a path to a JSON-lines file") { path, file, resume };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var layer = context.Layer;
            var prefix = ApiTarget.Normalize(context.Value(path));
            var target = context.Value(file);
            if (target == "-") target = null;
            if (context.Value(resume) && target is null) throw CliFailure.Usage("--resume needs the FILE to continue");
            var client = context.Client;

            var done = new HashSet<string>(StringComparer.Ordinal);
            await using var output = context.Value(resume)
                ? await OpenToResumeAsync(target!, layer, prefix, done, cancellationToken)
                : Create(target);
            if (!context.Value(resume))
                await output.WriteAsync(ExportFormat.HeaderLine(new ExportFormat.Header(layer, prefix, client.Url.ToString(), client.User,
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())), cancellationToken);

            var paths = new List<string>();
            await foreach (var found in Pages.NamesAsync(client, cursor => ApiTarget.For("ds", prefix).With("l", layer).With("cursor", cursor), cancellationToken))
                paths.Add(found);

            long versions = 0;
            var exported = 0;
            using var progress = new ProgressBar("exporting", enabled: target is not null || Console.IsOutputRedirected);
            try
            {
                for (var i = 0; i < paths.Count; i++)
                {
                    progress.Report(i, paths.Count, $"{i}/{paths.Count} paths, {versions} versions");
                    if (!done.Add(paths[i])) continue;
                    versions += await ExportPathAsync(client, layer, paths[i], output, cancellationToken);
                    exported++;
                }
                progress.Report(paths.Count, paths.Count, $"{paths.Count}/{paths.Count} paths, {versions} versions", force: true);
            }
            catch (Exception e) when (target is not null && e is CliFailure or OperationCanceledException)
            {
                progress.Dispose();
                context.Error.WriteLine($"kv4: the export stopped after {exported} paths; continue it with: kv4 export {Quote(context.Value(path))} {Quote(target)} --resume");
                throw;
            }
            progress.Dispose();
            context.Error.WriteLine($"kv4: exported {versions} versions of {exported} paths{(done.Count > exported ? $" ({done.Count - exported} were already in the file)" : "")} under {layer}/{prefix} to {target ?? "stdout"}");
            return 0;
        });
        return command;
    }

    /// <summary>One path's versions read newest first, then written oldest first as one group; answers how many.</summary>
    private static async Task<long> ExportPathAsync(Kv4Client client, string layer, string path, Stream output, CancellationToken cancellationToken)
    {
        using var lines = new ReversedLines();
        await foreach (var page in Pages.ReadAsync(client, cursor => ApiTarget.For(layer, path).With("time_series", "1").With("format", "full")
                           .With("limit", PageSize).With("cursor", cursor), cancellationToken))
            foreach (var version in page.V.EnumerateArray())
                lines.Add(ExportFormat.RecordLine(path, version));
        if (lines.Count == 0) return 0;
        await output.WriteAsync(ExportFormat.GroupLine(new ExportFormat.Group(path, lines.Count)), cancellationToken);
        await lines.CopyReversedAsync(output, cancellationToken);
        await output.FlushAsync(cancellationToken);
        return lines.Count;
    }

    private static Stream Create(string? target)
    {
        if (target is null) return Console.OpenStandardOutput();
        try
        {
            return new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliFailure.Usage($"cannot write {target}: {e.Message}");
        }
    }

    /// <summary>Reads what an earlier export wrote: the paths of its complete groups, and cuts off whatever follows the last of them.</summary>
    private static async Task<Stream> OpenToResumeAsync(string target, string layer, string prefix, HashSet<string> done, CancellationToken cancellationToken)
    {
        FileStream file;
        try
        {
            file = new FileStream(target, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliFailure.Usage($"cannot resume {target}: {e.Message}", "without --resume the export starts a new file");
        }
        var reader = new JsonLinesReader(file, 0);
        var header = ExportFormat.ReadHeader(await reader.ReadLineAsync(cancellationToken), target);
        if (header.Layer != layer || header.Path != prefix)
        {
            await file.DisposeAsync();
            throw CliFailure.Usage($"{target} is an export of {header.Layer}/{header.Path}, not of {layer}/{prefix}");
        }
        var complete = reader.Offset;
        ExportFormat.Group? open = null;
        long seen = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            switch (ExportFormat.ReadLine(line, target, reader.Offset))
            {
                case ExportFormat.Group group when open is null:
                    open = group;
                    seen = 0;
                    break;
                case ExportFormat.Record record when open is not null && record.Path == open.Path:
                    seen++;
                    break;
                default:
                    await file.DisposeAsync();
                    throw CliFailure.Usage($"{target}: the line ending at byte {reader.Offset} is out of place: not a file kv4 export wrote");
            }
            if (open is not null && seen == open.Versions)
            {
                done.Add(open.Path);
                complete = reader.Offset;
                open = null;
            }
        }
        file.SetLength(complete);
        file.Seek(complete, SeekOrigin.Begin);
        return file;
    }

    private static string Quote(string text) => text.Length > 0 && text.All(c => char.IsLetterOrDigit(c) || c is '/' or '.' or '-' or '_') ? text : "'" + text.Replace("'", "'\\''") + "'";
}
