using System.CommandLine;
using System.Text.Json;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;
using Kv4.Cli.Time;

namespace Kv4.Cli.Commands;

/// <summary>
/// `kv4 history PATH [KEY]`: every version of a key (or, without a key, of every key at the path), newest first, as a
/// table of version, time (UTC), actor and value (`(deleted)` for a delete); `--since`/`--until` bound it by time,
/// `--limit` by count. Reads `time_series=1&amp;format=full`, page by page.
/// </summary>
public static class HistoryCommand
{
    private const int PageSize = 1000;

    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path" };
        var key = new Argument<string?>("key") { Description = "the key (none: every key at the path, merged)", Arity = ArgumentArity.ZeroOrOne };
        var since = new Option<string?>("--since") { Description = "from this time: 2026-11-23, 2026-11-23T10:05, 2026:11:23:10, or ago: 15m, 2h, 7d" };
        var until = new Option<string?>("--until") { Description = "to the end of this time (same forms)" };
        var limit = new Option<int?>("--limit", "-n") { Description = "at most this many versions (the newest)" };
        var command = new Command("history", "the versions of a key: version, time, actor, value") { path, key, since, until, limit };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var max = context.Value(limit);
            if (max is < 1) throw CliFailure.Usage($"--limit {max}: give a positive number");
            var now = DateTimeOffset.UtcNow;
            var from = TimeBound.ToGroup(context.Value(since), "--since", now);
            var to = TimeBound.ToGroup(context.Value(until), "--until", now);
            var k = context.Value(key);
            var start = ApiTarget.Normalize(context.Value(path));
            var table = k is null ? new TextTable("VERSION", "TIME", "ACTOR", "KEY", "VALUE") : new TextTable("VERSION", "TIME", "ACTOR", "VALUE");
            var shown = 0L;
            string? cursor = null;
            do
            {
                var pageSize = max is null ? PageSize : (int)Math.Min(PageSize, max.Value - shown);
                var reply = await context.Client.GetAsync(ApiTarget.For(context.Layer, start).With("time_series", "1").With("format", "full")
                    .With("k", k).With("gs", from).With("ge", to).With("limit", pageSize).With("cursor", cursor), cancellationToken);
                if (!context.WroteRaw(reply))
                    foreach (var version in reply.V.EnumerateArray()) table.Add(Row(version, withKey: k is null));
                shown += reply.V.GetArrayLength();
                cursor = reply.Next;
            }
            while (cursor is not null && (max is null || shown < max));
            if (!context.Json) table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static string[] Row(JsonElement version, bool withKey)
    {
        var value = version.GetProperty("op").GetString() == "delete" ? "(deleted)" : Values.OneLine(version.GetProperty("v"));
        string[] start = [version.GetProperty("_ver_").GetString()!, Values.Time(version.GetProperty("t").GetInt64()), version.GetProperty("by").GetString()!];
        return withKey ? [.. start, version.GetProperty("k").GetString()!, value] : [.. start, value];
    }
}
