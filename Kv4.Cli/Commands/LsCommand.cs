using System.CommandLine;
using Kv4.Cli.Connection;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 ls PATH`: the keys at exactly that path, sorted, one per line, every page followed.</summary>
public static class LsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path", DefaultValueFactory = _ => "" };
        var command = new Command("ls", "list the keys at a path") { path };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var target = ApiTarget.Normalize(context.Value(path));
            await foreach (var page in Pages.ReadAsync(context.Client, cursor => ApiTarget.For(context.Layer, target).With("cursor", cursor), cancellationToken))
                if (!context.WroteRaw(page))
                    foreach (var name in page.V.EnumerateArray()) context.Out.WriteLine(name.GetString());
            return 0;
        });
        return command;
    }
}
