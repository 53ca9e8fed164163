using System.CommandLine;
using Kv4.Cli.Connection;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 ns put PATH` creates a namespace node (a channel for tokens and signalling), `kv4 ns del PATH` removes it and every node below.</summary>
public static class NsCommand
{
    public static Command Create(GlobalOptions options)
    {
        var command = new Command("ns", "create or remove namespace nodes (kv4 tree shows them)");

        var putPath = new Argument<string>("path") { Description = "the node, e.g. rooms/lobby (its parents are not created)" };
        var put = new Command("put", "create a namespace node") { putPath };
        CommandAction.Set(put, options, async (context, cancellationToken) =>
        {
            var reply = await context.Client.SendAsync(HttpMethod.Put, ApiTarget.For("ns", context.Value(putPath)), null, cancellationToken);
            if (!context.WroteRaw(reply)) context.Out.WriteLine("created " + reply.V.GetString());
            return 0;
        });

        var delPath = new Argument<string>("path") { Description = "the node" };
        var del = new Command("del", "remove a namespace node and every node below it") { delPath };
        CommandAction.Set(del, options, async (context, cancellationToken) =>
        {
            var reply = await context.Client.SendAsync(HttpMethod.Delete, ApiTarget.For("ns", context.Value(delPath)), null, cancellationToken);
            if (!context.WroteRaw(reply))
            {
                var count = reply.V.GetInt64();
                context.Out.WriteLine($"removed {count} {(count == 1 ? "node" : "nodes")}");
            }
            return 0;
        });

        command.Subcommands.Add(put);
        command.Subcommands.Add(del);
        return command;
    }
}
