using System.CommandLine;
using System.Text.Json;
using Kv4.Cli.Commands;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;

namespace Kv4.Cli.Watch;

/// <summary>
/// `kv4 watch PATH [--since CURSOR]`: prints each change under the path as it happens (the SSE watch of
/// docs/realtime.md), until Ctrl-C. It keeps the cursor (`id`) of the last change it printed; when the connection
/// drops or the server restarts it connects again with `since=` that cursor, so nothing is missed or printed twice.
/// Refusals (unauthorized, forbidden, a bad cursor, the stream's `event: error`) end it with exit code 3.
/// </summary>
public static class WatchCommand
{
    /// <summary>Three of the server's 15 s keep-alives missed: the connection is gone even if no error says so.</summary>
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(45);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);

    public static Command Create(GlobalOptions options)
    {
        var path = new Argument<string>("path") { Description = "the path prefix to watch (whole segments; default: everything)", DefaultValueFactory = _ => "" };
        var since = new Option<string?>("--since") { Description = "replay from this cursor (a change's seq; 0 = all retained), then live" };
        var command = new Command("watch", "print changes under a path as they happen, until Ctrl-C") { path, since };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var prefix = ApiTarget.Normalize(context.Value(path));
            var layer = context.Layer;
            var cursor = context.Value(since);
            var client = context.Client;
            var connected = false;
            var retry = FirstRetry;
            var outage = false;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.OpenStreamAsync(ApiTarget.For(layer, prefix).With("watch", "1").With("since", cursor), "text/event-stream", cancellationToken);
                    context.Error.WriteLine(connected
                        ? $"kv4: connected again, resuming {(cursor is null ? "with live changes" : "after " + cursor)}"
                        : $"kv4: watching {layer}/{prefix} on {client.Url} (Ctrl-C to stop)");
                    connected = true;
                    outage = false;
                    retry = FirstRetry;
                    await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                    await foreach (var change in new EventStreamReader(stream, Silence).ReadAsync(cancellationToken))
                    {
                        if (change.Type == "error") throw Refused(change.Data);
                        if (change.Data is not null) Print(context, change.Data);
                        cursor = change.Id ?? cursor;
                    }
                    if (cancellationToken.IsCancellationRequested) break;
                    ReportOutage(context, ref outage, cursor, "the server ended the stream");
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (CliFailure failure) when (connected && (failure.Kind == FailureKind.Connection || failure.Code is "unavailable" or "rate_limited"))
                {
                    ReportOutage(context, ref outage, cursor, failure.Message);
                }
                catch (Exception e) when (connected && e is IOException or HttpRequestException)
                {
                    ReportOutage(context, ref outage, cursor, e.Message);
                }
                try
                {
                    await Task.Delay(retry, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
            }
            return 0;
        });
        return command;
    }

    private static void ReportOutage(CommandContext context, ref bool outage, string? cursor, string why)
    {
        if (outage) return;
        outage = true;
        context.Error.WriteLine($"kv4: connection lost ({why}); reconnecting {(cursor is null ? "" : "from " + cursor)}");
        if (cursor is null)
            context.Error.WriteLine("kv4: warning: no change was received yet, so there is no cursor to resume from: changes made before the stream is back may be missed (give --since to be exact)");
    }

    private static CliFailure Refused(string? data)
    {
        var code = "unknown";
        try
        {
            using var document = JsonDocument.Parse(data ?? "");
            if (document.RootElement.TryGetProperty("v", out var v) && v.ValueKind == JsonValueKind.String) code = v.GetString()!;
        }
        catch (JsonException)
        {
        }
        return CliFailure.Server(code, data ?? "", "the watch was ended by the server: " + ErrorHints.For(code));
    }

    private static void Print(CommandContext context, string data)
    {
        if (context.Json)
        {
            context.Out.WriteLine(data);
            return;
        }
        using var document = JsonDocument.Parse(data);
        var change = document.RootElement;
        var op = change.GetProperty("op").GetString();
        var time = change.TryGetProperty("t", out var t) && t.ValueKind == JsonValueKind.Number ? Values.Time(t.GetInt64()) : "-";
        var by = change.TryGetProperty("by", out var b) ? b.GetString() : null;
        if (op == "drop_bucket")
        {
            context.Out.WriteLine($"{time} drop_bucket (the account and its data were deleted)");
            return;
        }
        var where = change.GetProperty("path").GetString() is { Length: > 0 } p ? p : "/";
        var key = change.GetProperty("k").GetString();
        var value = op == "put" ? " " + Values.OneLine(change.GetProperty("v")) : "";
        context.Out.WriteLine($"{time} {op} {where} {key}{value} by {by}");
    }
}
