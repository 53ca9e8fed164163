using System.CommandLine;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;
using Kv4.Cli.Time;

namespace Kv4.Cli.Commands;

/// <summary>`kv4 get PATH KEY` (or `--k2/--k3/--k4 VALUE`): the latest value, indented; an object carries its `_ver_`. `--at T`: the value at that time.</summary>
public static class GetCommand
{
    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path" };
        var key = new Argument<string?>("key") { Description = "the key (or look up by --k2/--k3/--k4)", Arity = ArgumentArity.ZeroOrOne };
        var k2 = new Option<string?>("--k2") { Description = "find the entry by secondary key 2" };
        var k3 = new Option<string?>("--k3") { Description = "by secondary key 3" };
        var k4 = new Option<string?>("--k4") { Description = "by secondary key 4" };
        var at = new Option<string?>("--at") { Description = "the value at this time: unix ms, 2026-11-23T10:05Z, or ago: 15m, 2h, 7d" };
        var command = new Command("get", "print the latest value of a key") { path, key, k2, k3, k4, at };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            (string Name, string? Value)[] lookups = [("k", context.Value(key)), ("k2", context.Value(k2)), ("k3", context.Value(k3)), ("k4", context.Value(k4))];
            var given = lookups.Where(l => l.Value is not null).ToArray();
            if (given.Length != 1) throw CliFailure.Usage("give exactly one of KEY, --k2, --k3, --k4", "kv4 get notes today");
            var instant = TimeBound.ToInstant(context.Value(at), "--at", DateTimeOffset.UtcNow);
            var reply = await context.Client.GetAsync(ApiTarget.For(context.Layer, context.Value(path)).With(given[0].Name, given[0].Value)
                .With("at", instant), cancellationToken);
            if (!context.WroteRaw(reply)) context.Out.WriteLine(Values.Pretty(reply.V));
            return 0;
        });
        return command;
    }
}
