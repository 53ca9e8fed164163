using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Kv4.Cli.Commands;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;

namespace Kv4.Cli.Transfer;

/// <summary>
/// `kv4 import FILE [--resume]`: replays an export into the login's bucket, line by line in the file's order: each
/// put as a PUT, each delete as a DELETE of its key, so every key gets the same versions in the same order (its own
/// new times, actor and `_ver_`s: the public API stamps those). Into an empty account the histories come out as
/// they were exported. While it runs, <see cref="ImportState"/> says where it is; `--resume` goes on from there,
/// first asking the server which versions of the interrupted group arrived, so none is written twice or skipped.
/// </summary>
public static class ImportCommand
{
    private static readonly TimeSpan SaveEvery = TimeSpan.FromSeconds(1);

    public static Command Create(GlobalOptions options)
    {
        var file = new Argument<string>("file") { Description = "an export file (- reads stdin, without resume)" };
        var resume = new Option<bool>("--resume") { Description = "go on with an import of FILE that stopped" };
        var state = new Option<string?>("--state") { Description = "where to keep the import's progress (default FILE.kv4-import)" };
        var command = new Command("import", "write the versions of an export file into this account") { file, resume, state };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var name = context.Value(file);
            var fromStdin = name == "-";
            if (fromStdin && (context.Value(resume) || context.Value(state) is not null))
                throw CliFailure.Usage("an import from stdin cannot be resumed: give the FILE");
            await using var input = fromStdin ? Console.OpenStandardInput() : Open(name);
            var reader = new JsonLinesReader(input, 0);
            var header = ExportFormat.ReadHeader(await reader.ReadLineAsync(cancellationToken), name);
            var layer = context.Parse.GetResult(options.Layer) is { Implicit: false } ? context.Layer : ApiTarget.LayerService(header.Layer);
            var client = context.Client;
            var run = new Run(context, client, layer, name, fromStdin ? null : context.Value(state) ?? ImportState.PathFor(name), header);
            await run.StartAsync(reader, input, context.Value(resume), cancellationToken);
            try
            {
                await run.ApplyAsync(reader, input.CanSeek ? input.Length : 0, cancellationToken);
            }
            catch (Exception e) when (run.StatePath is not null && e is CliFailure or OperationCanceledException)
            {
                context.Error.WriteLine($"kv4: the import stopped after {run.State.Applied} versions; continue it with: kv4 import {name} --resume");
                throw;
            }
            return 0;
        });
        return command;
    }

    private static FileStream Open(string name)
    {
        try
        {
            return new FileStream(name, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliFailure.Usage($"cannot read {name}: {e.Message}");
        }
    }

    private sealed class Run(CommandContext context, Kv4Client client, string layer, string file, string? statePath, ExportFormat.Header header)
    {
        private readonly Stopwatch _sinceSaved = Stopwatch.StartNew();
        private long _missedDeletes;

        public string? StatePath => statePath;

        public ImportState State { get; private set; } = new();

        /// <summary>A new import records where it starts; a resumed one checks its state and moves to where it stopped.</summary>
        public async Task StartAsync(JsonLinesReader reader, Stream input, bool resume, CancellationToken cancellationToken)
        {
            var saved = statePath is null ? null : ImportState.Load(statePath);
            if (!resume)
            {
                if (saved is not null)
                    throw CliFailure.Usage($"an import of {file} stopped before it finished (its progress is in {statePath})",
                        $"continue it: kv4 import {file} --resume   (or delete {statePath} to start over, into an empty account)");
                State = new ImportState
                {
                    File = Path.GetFullPath(file), ExportTime = header.Time, Url = client.Url.ToString(), User = client.User, Layer = layer,
                    Offset = reader.Offset,
                };
                Save();
                return;
            }
            if (saved is null) throw CliFailure.Usage($"nothing to resume: no {statePath} (the import finished, or never started)");
            if (saved.File != Path.GetFullPath(file) || saved.ExportTime != header.Time)
                throw CliFailure.Usage($"{statePath} belongs to another export file", "delete it to start over");
            if (saved.Url != client.Url.ToString() || saved.User != client.User || saved.Layer != layer)
                throw CliFailure.Usage($"the import being resumed went to {saved.Layer} of {saved.User} at {saved.Url}", "resume it with the same --url, --user and --layer");
            State = saved;
            input.Seek(saved.Offset, SeekOrigin.Begin);
            reader.Restart(saved.Offset);
            if (saved.Group is not null) await ReconcileAsync(reader, cancellationToken);
        }

        public async Task ApplyAsync(JsonLinesReader reader, long size, CancellationToken cancellationToken)
        {
            using var progress = new ProgressBar("importing", enabled: statePath is not null);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                progress.Report(reader.Offset, size, $"{State.Applied} versions");
                switch (ExportFormat.ReadLine(line, file, reader.Offset))
                {
                    case ExportFormat.Group group when State.Group is null:
                        State.Group = group.Path;
                        State.GroupLeft = group.Versions;
                        State.Anchor = null;
                        State.Offset = reader.Offset;
                        State.Paths++;
                        Save();
                        break;
                    case ExportFormat.Record record when State.Group == record.Path && State.GroupLeft > 0:
                        var version = await ApplyAsync(record, cancellationToken);
                        State.Applied++;
                        State.GroupLeft--;
                        if (State.GroupLeft == 0)
                        {
                            State.Group = null;
                            State.Anchor = null;
                            State.Offset = reader.Offset;
                            Save();
                        }
                        else if (version is not null)
                        {
                            State.Anchor = version;
                            State.Offset = reader.Offset;
                            if (_sinceSaved.Elapsed >= SaveEvery) Save();
                        }
                        break;
                    default:
                        throw CliFailure.Usage($"{file}: the line ending at byte {reader.Offset} is out of place: not a file kv4 export wrote");
                }
            }
            if (reader.Incomplete || State.Group is not null)
                throw CliFailure.Usage($"{file} ends in the middle of {(State.Group is null ? "a line" : "the versions of " + State.Group)}: an export that was cut short",
                    $"finish the export (kv4 export {header.Path} {file} --resume), then: kv4 import {file} --resume");
            progress.Dispose();
            if (statePath is not null) File.Delete(statePath);
            if (_missedDeletes > 0)
                context.Error.WriteLine($"kv4: warning: {_missedDeletes} deletes found no live key to delete: the account was not empty, or the file was edited");
            context.Error.WriteLine($"kv4: imported {State.Applied} versions of {State.Paths} paths into {layer} as {client.User} (their times and actor are this import's; see docs/cli.md)");
        }

        /// <summary>Writes one version; answers its `_ver_` for a put (a delete's reply has none).</summary>
        private async Task<string?> ApplyAsync(ExportFormat.Record record, CancellationToken cancellationToken)
        {
            var target = ApiTarget.For(layer, record.Path);
            if (record.Op == "delete")
            {
                var deleted = await client.SendAsync(HttpMethod.Delete, target.With("k", record.Key), null, cancellationToken);
                if (deleted.V.GetInt64() == 0) _missedDeletes++;
                return null;
            }
            if (record.Op != "put") throw CliFailure.Usage($"{file}: a version of {record.Path} has op '{record.Op}', not put or delete");
            var reply = await client.SendAsync(HttpMethod.Put, target, BodyWriter.Entry(record.Key, record.Value.GetRawText()), cancellationToken);
            return reply.V.GetProperty("_ver_").GetString();
        }

        /// <summary>
        /// The import stopped inside a group: the server's history of that path, newest first down to the anchor, holds
        /// the versions that arrived after it. They must be the file's next lines (same key, op and value); they are
        /// skipped, and the import goes on with the first that did not arrive.
        /// </summary>
        private async Task ReconcileAsync(JsonLinesReader reader, CancellationToken cancellationToken)
        {
            var group = State.Group!;
            var arrived = new List<JsonElement>();
            var anchorFound = State.Anchor is null;
            await foreach (var page in Pages.ReadAsync(client, cursor => ApiTarget.For(layer, State.Group!).With("time_series", "1").With("format", "full")
                               .With("limit", 1000).With("cursor", cursor), cancellationToken))
            {
                foreach (var version in page.V.EnumerateArray())
                {
                    if (version.GetProperty("_ver_").GetString() == State.Anchor)
                    {
                        anchorFound = true;
                        break;
                    }
                    arrived.Add(version.Clone());
                    if (arrived.Count > State.GroupLeft) throw Diverged();
                }
                if (anchorFound && State.Anchor is not null) break;
            }
            if (!anchorFound) throw Diverged();
            arrived.Reverse();
            foreach (var version in arrived)
            {
                var line = await reader.ReadLineAsync(cancellationToken) ?? throw Diverged();
                if (ExportFormat.ReadLine(line, file, reader.Offset) is not ExportFormat.Record record || record.Path != State.Group
                    || record.Key != version.GetProperty("k").GetString() || record.Op != version.GetProperty("op").GetString()
                    || !JsonElement.DeepEquals(record.Value, version.GetProperty("v")))
                    throw Diverged();
                State.Applied++;
                State.GroupLeft--;
                State.Anchor = version.GetProperty("_ver_").GetString();
                State.Offset = reader.Offset;
            }
            if (State.GroupLeft == 0)
            {
                State.Group = null;
                State.Anchor = null;
            }
            Save();
            if (arrived.Count > 0) context.Error.WriteLine($"kv4: {arrived.Count} versions of {group} had arrived before the import stopped; going on after them");
        }

        private CliFailure Diverged() =>
            CliFailure.Usage($"the server's versions of {State.Group} are not the ones this import wrote: something else wrote there since it stopped",
                "an import is resumable only while nothing else writes to the paths it imports");

        private void Save()
        {
            if (statePath is null) return;
            State.Save(statePath);
            _sinceSaved.Restart();
        }
    }
}
