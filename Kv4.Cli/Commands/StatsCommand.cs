using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;
using Kv4.Cli.Time;

namespace Kv4.Cli.Commands;

/// <summary>
/// `kv4 stats`: the login's API calls per service and method (the host's `api:3` counts, docs/platform.md);
/// `kv4 stats get ENTITY -m MEASUREMENT`: one measurement's sum, min, max and count, by time group with `--groups`;
/// `kv4 stats add ENTITY -m MEASUREMENT VALUE`: records a value. Stats show after the server's next flush (15 s).
/// </summary>
public static class StatsCommand
{
    private const string ApiCalls = "api:3";

    public static Command Create(GlobalOptions options)
    {
        var since = new Option<string?>("--since") { Description = "from this time (2026-11-23, 2026:11:23:10, 2h, ...)", Recursive = true };
        var until = new Option<string?>("--until") { Description = "to the end of this time", Recursive = true };
        var command = new Command("stats", "API calls per service and method; get/add measurements (_stats)") { since, until };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var (from, to) = Bounds(context, since, until);
            var entities = new List<string>();
            await foreach (var entity in Pages.NamesAsync(context.Client, cursor => ApiTarget.For("ds").With("l", "stats").With("cursor", cursor), cancellationToken))
                entities.Add(entity);
            var table = new TextTable("SERVICE", "METHOD", "CALLS").AlignRight("CALLS");
            foreach (var entity in entities)
            {
                var reply = await context.Client.GetAsync(ApiTarget.For("stats", entity).With("l", ApiCalls).With("gs", from).With("ge", to), cancellationToken);
                if (reply.V.GetProperty("count").GetInt64() == 0) continue;
                if (context.WroteRaw(reply)) continue;
                var slash = entity.LastIndexOf('/');
                table.Add(slash < 0 ? entity : entity[..slash], slash < 0 ? "" : entity[(slash + 1)..], Values.Cell(reply.V.GetProperty("sum")));
            }
            if (!context.Json)
            {
                if (table.Count == 0) context.Out.WriteLine("(no calls recorded yet: the server writes its counts every 15 s)");
                else table.WriteTo(context.Out);
            }
            return 0;
        });
        command.Subcommands.Add(Get(options, since, until));
        command.Subcommands.Add(Add(options));
        return command;
    }

    private static Command Get(GlobalOptions options, Option<string?> since, Option<string?> until)
    {
        var entity = new Argument<string>("entity") { Description = "what was measured (a path, e.g. rooms/lobby; data/GET for API calls)" };
        var measurement = new Option<string>("--measure", "-m") { Description = "the measurement (api:3 for API calls)", Required = true };
        var key = new Option<string?>("--key", "-k") { Description = "only this stats key (default: all summed)" };
        var groups = new Option<bool>("--groups") { Description = "one row per time group, at the depth of --since (else --until, else years)" };
        var command = new Command("get", "sum, min, max and count of a measurement") { entity, measurement, key, groups };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var (from, to) = Bounds(context, since, until);
            var reply = await context.Client.GetAsync(ApiTarget.For("stats", context.Value(entity)).With("l", context.Value(measurement))
                .With("k", context.Value(key)).With("gs", from).With("ge", to).With("break", context.Value(groups) ? "1" : null), cancellationToken);
            if (context.WroteRaw(reply)) return 0;
            var table = new TextTable(context.Value(groups) ? ["GROUP", "SUM", "MIN", "MAX", "COUNT"] : ["SUM", "MIN", "MAX", "COUNT"])
                .AlignRight("SUM", "MIN", "MAX", "COUNT");
            if (context.Value(groups))
                foreach (var group in reply.V.EnumerateObject()) table.Add([group.Name, .. Figures(group.Value)]);
            else table.Add(Figures(reply.V));
            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command Add(GlobalOptions options)
    {
        var entity = new Argument<string>("entity") { Description = "what is measured (a path)" };
        var value = new Argument<double>("value") { Description = "a finite number" };
        var measurement = new Option<string>("--measure", "-m") { Description = "the measurement name", Required = true };
        var key = new Option<string?>("--key", "-k") { Description = "the stats key (default: the login)" };
        var command = new Command("add", "record a value of a measurement") { entity, value, measurement, key };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var number = context.Value(value);
            if (!double.IsFinite(number)) throw CliFailure.Usage("the value must be a finite number");
            var body = "{\"v\":" + number.ToString("R", CultureInfo.InvariantCulture) + "}";
            var reply = await context.Client.SendAsync(HttpMethod.Post,
                ApiTarget.For("stats", context.Value(entity)).With("l", context.Value(measurement)).With("k", context.Value(key)), body, cancellationToken);
            if (!context.WroteRaw(reply)) context.Out.WriteLine("recorded (shown after the server's next stats flush)");
            return 0;
        });
        return command;
    }

    private static (string? From, string? To) Bounds(CommandContext context, Option<string?> since, Option<string?> until)
    {
        var now = DateTimeOffset.UtcNow;
        return (TimeBound.ToGroup(context.Value(since), "--since", now), TimeBound.ToGroup(context.Value(until), "--until", now));
    }

    private static string[] Figures(JsonElement stats) =>
        [Values.Cell(stats.GetProperty("sum")), Values.Cell(stats.GetProperty("min")), Values.Cell(stats.GetProperty("max")), Values.Cell(stats.GetProperty("count"))];
}
