using System.CommandLine;
using Kv4.Cli.Connection;
using Kv4.Cli.Output;
using Kv4.Cli.Time;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 tree [PATH]`: the namespace (`_ns`) nodes at or under PATH, drawn as a tree. `--at T`: the nodes that existed then.</summary>
public static class TreeCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the node to start from (default: the whole namespace)", DefaultValueFactory = _ => "" };
        var depth = new Option<int?>("--depth") { Description = "at most this many levels below PATH" };
        var at = new Option<string?>("--at") { Description = "the tree at this time: unix ms, 2026-11-23T10:05Z, or ago: 15m, 2h, 7d" };
        var command = new Command("tree", "draw the namespace tree (_ns)") { path, depth, at };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var start = ApiTarget.Normalize(context.Value(path));
            var nodes = new List<string>();
            var instant = TimeBound.ToInstant(context.Value(at), "--at", DateTimeOffset.UtcNow);
            await foreach (var page in Pages.ReadAsync(context.Client,
                               cursor => ApiTarget.For("ns", start).With("depth", context.Value(depth)).With("at", instant).With("cursor", cursor), cancellationToken))
                if (!context.WroteRaw(page))
                    nodes.AddRange(page.V.EnumerateArray().Select(n => n.GetString()!));
            if (!context.Json) TreeView.Write(context.Out, nodes, start);
            return 0;
        });
        return command;
    }
}
