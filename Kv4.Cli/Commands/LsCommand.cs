using System.CommandLine;
using Kv4.Cli.Connection;
using Kv4.Cli.Time;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 ls PATH`: the keys at exactly that path, sorted, one per line, every page followed. `--at T`: the keys live then.</summary>
public static class LsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path", DefaultValueFactory = _ => "" };
        var at = new Option<string?>("--at") { Description = "the keys at this time: unix ms, 2026-11-23T10:05Z, or ago: 15m, 2h, 7d" };
        var command = new Command("ls", "list the keys at a path") { path, at };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var target = ApiTarget.Normalize(context.Value(path));
            var instant = TimeBound.ToInstant(context.Value(at), "--at", DateTimeOffset.UtcNow);
            await foreach (var page in Pages.ReadAsync(context.Client,
                               cursor => ApiTarget.For(context.Layer, target).With("at", instant).With("cursor", cursor), cancellationToken))
                if (!context.WroteRaw(page))
                    foreach (var name in page.V.EnumerateArray()) context.Out.WriteLine(name.GetString());
            return 0;
        });
        return command;
    }
}
