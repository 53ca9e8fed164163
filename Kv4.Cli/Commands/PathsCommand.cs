using System.CommandLine;
using Kv4.Cli.Connection;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 paths [PATH]`: the paths at or under PATH that hold live entries in the layer (`_ds`), one per line.</summary>
public static class PathsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "where to start (default: everywhere)", DefaultValueFactory = _ => "" };
        var depth = new Option<int?>("--depth") { Description = "at most this many levels below PATH" };
        var command = new Command("paths", "list the paths that hold entries in the layer") { path, depth };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var layer = context.Layer;
            var start = ApiTarget.Normalize(context.Value(path));
            await foreach (var page in Pages.ReadAsync(context.Client,
                               cursor => ApiTarget.For("ds", start).With("l", layer).With("depth", context.Value(depth)).With("cursor", cursor), cancellationToken))
                if (!context.WroteRaw(page))
                    foreach (var name in page.V.EnumerateArray()) context.Out.WriteLine(name.GetString());
            return 0;
        });
        return command;
    }
}
