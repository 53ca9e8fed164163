using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;

namespace Kv4.Cli.Commands;

/// <summary>
/// `kv4 cluster status`: the members (`GET /_cluster`) and the partitions (`GET /_cluster/partitions`) as two tables;
/// `kv4 cluster decommission NODE`: `DELETE /_cluster/nodes?k=NODE`. `$sys` only.
/// </summary>
public static class ClusterCommand
{
    public static Command Create(GlobalOptions options)
    {
        var command = new Command("cluster", "the cluster's nodes and partitions ($sys)");

        var status = new Command("status", "nodes and partitions as tables");
        CommandAction.Set(status, options, async (context, cancellationToken) =>
        {
            var members = await WithClusterHintAsync(context.Client.GetAsync(ApiTarget.For("cluster"), cancellationToken));
            var partitions = await WithClusterHintAsync(context.Client.GetAsync(ApiTarget.For("cluster", "partitions"), cancellationToken));
            if (context.WroteRaw(members) | context.WroteRaw(partitions)) return 0;
            WriteMembers(context.Out, members.V);
            context.Out.WriteLine();
            WritePartitions(context.Out, partitions.V);
            return 0;
        });

        var node = new Argument<string>("node") { Description = "the member's name" };
        var decommission = new Command("decommission", "take a node out of the cluster (it leaves once its partitions have moved)") { node };
        CommandAction.Set(decommission, options, async (context, cancellationToken) =>
        {
            var reply = await WithClusterHintAsync(
                context.Client.SendAsync(HttpMethod.Delete, ApiTarget.For("cluster", "nodes").With("k", context.Value(node)), null, cancellationToken));
            if (!context.WroteRaw(reply)) context.Out.WriteLine($"{reply.V.GetProperty("node").GetString()}: {reply.V.GetProperty("state").GetString()}");
            return 0;
        });

        command.Subcommands.Add(status);
        command.Subcommands.Add(decommission);
        return command;
    }

    /// <summary>A server without the cluster service answers `unknown_service`: say that rather than suspect the layer.</summary>
    private static async Task<ApiReply> WithClusterHintAsync(Task<ApiReply> call)
    {
        try
        {
            return await call;
        }
        catch (CliFailure failure) when (failure.Code == "unknown_service")
        {
            throw CliFailure.Server(failure.Code, failure.RawReply!, "this server has no /_cluster service: it is a build from before the cluster");
        }
    }

    private static void WriteMembers(TextWriter output, JsonElement cluster)
    {
        var self = cluster.GetProperty("self").GetString();
        var leader = cluster.GetProperty("leader") is { ValueKind: JsonValueKind.String } l ? l.GetString() : null;
        output.WriteLine($"this node: {self}    leader: {leader ?? "(none known)"}");
        var table = new TextTable("NODE", "STATE", "ENDPOINT", "URL", "SOCKETS", "RPS", "PRIMARIES", "REPLICAS")
            .AlignRight("SOCKETS", "RPS", "PRIMARIES", "REPLICAS");
        foreach (var member in cluster.GetProperty("members").EnumerateArray())
        {
            var name = member.GetProperty("name").GetString()!;
            var marks = (name == self ? "*" : "") + (name == leader ? " (leader)" : "");
            var load = member.TryGetProperty("load", out var l2) ? l2 : default;
            table.Add(name + (marks.Length > 0 ? " " + marks.TrimStart() : ""), Values.Cell(member.GetProperty("state")),
                Values.Cell(member.GetProperty("endpoint")), Values.Cell(member.GetProperty("url")),
                Load(load, "sockets"), Load(load, "rps"), Load(load, "primaries"), Load(load, "replicas"));
        }
        table.WriteTo(output);
    }

    private static void WritePartitions(TextWriter output, JsonElement partitions)
    {
        var table = new TextTable("PARTITION", "EPOCH", "PRIMARY", "REPLICAS", "IN-SYNC", "LAG").AlignRight("PARTITION", "EPOCH");
        foreach (var partition in partitions.EnumerateArray())
        {
            var lag = partition.TryGetProperty("lag", out var lags) && lags.ValueKind == JsonValueKind.Object
                ? string.Join(" ", lags.EnumerateObject().Select(p => p.Name + ":" + Values.Cell(p.Value)))
                : "";
            table.Add(Values.Cell(partition.GetProperty("partition")), Values.Cell(partition.GetProperty("epoch")), Values.Cell(partition.GetProperty("primary")),
                Values.Cell(partition.GetProperty("replicas")), Values.Cell(partition.GetProperty("in_sync")), lag.Length == 0 ? "-" : lag);
        }
        table.WriteTo(output);
    }

    private static string Load(JsonElement load, string name) =>
        load.ValueKind == JsonValueKind.Object && load.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetDouble().ToString("0.##", CultureInfo.InvariantCulture)
            : "-";
}
