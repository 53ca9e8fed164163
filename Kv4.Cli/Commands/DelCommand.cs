using System.CommandLine;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Commands;

/// <summary>
/// `kv4 del PATH KEY`: deletes one key (its history stays, ending in a delete); `kv4 del PATH --tree` deletes every
/// entry at and below the path. Prints how many entries were deleted.
/// </summary>
public static class DelCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path" };
        var key = new Argument<string?>("key") { Description = "the key to delete", Arity = ArgumentArity.ZeroOrOne };
        var tree = new Option<bool>("--tree") { Description = "no key: delete every entry at and below the path" };
        var command = new Command("del", "delete a key, or with --tree a whole path") { path, key, tree };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var k = context.Value(key);
            if (k is null == !context.Value(tree))
                throw CliFailure.Usage(k is null ? "give a key, or --tree to delete the whole path" : "give a key or --tree, not both");
            var reply = await context.Client.SendAsync(HttpMethod.Delete, ApiTarget.For(context.Layer, context.Value(path)).With("k", k), null, cancellationToken);
            if (!context.WroteRaw(reply))
            {
                var count = reply.V.GetInt64();
                context.Out.WriteLine($"deleted {count} {(count == 1 ? "entry" : "entries")}");
            }
            return 0;
        });
        return command;
    }
}
