using System.CommandLine;
using Kv4.Cli.Connection;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 put PATH KEY JSON`: PUT (create or replace), or with `--if-version` a compare-and-set POST. Prints the new version.</summary>
public static class PutCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path, e.g. notes or rooms/lobby" };
        var key = new Argument<string>("key") { Description = "the key at that path" };
        var value = new Argument<string>("json") { Description = "the value as JSON ('{\"n\":1}', 42, '\"text\"'), or - for stdin" };
        var ifVersion = new Option<string?>("--if-version") { Description = "write only if the entry is still at this version (compare-and-set)" };
        var k2 = new Option<string?>("--k2") { Description = "secondary key 2 (unique per path)" };
        var k3 = new Option<string?>("--k3") { Description = "secondary key 3" };
        var k4 = new Option<string?>("--k4") { Description = "secondary key 4" };
        var command = new Command("put", "store a value: a new version of the key") { path, key, value, ifVersion, k2, k3, k4 };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var json = JsonArgument.Read(context.Value(value), "the value");
            var expected = context.Value(ifVersion);
            var body = BodyWriter.Entry(context.Value(key), json, ("k2", context.Value(k2)), ("k3", context.Value(k3)), ("k4", context.Value(k4)),
                ("_ver_", expected));
            var reply = await context.Client.SendAsync(expected is null ? HttpMethod.Put : HttpMethod.Post,
                ApiTarget.For(context.Layer, context.Value(path)), body, cancellationToken);
            if (!context.WroteRaw(reply)) context.Out.WriteLine(reply.V.GetProperty("_ver_").GetString());
            return 0;
        });
        return command;
    }
}
