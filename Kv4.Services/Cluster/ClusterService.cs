using System.Text.Json;
using Kv4.Services.Api;

namespace Kv4.Services.Cluster;

/// <summary>
/// `/_cluster`, `$sys` only: `GET /_cluster` the members and the control plane's leader, `GET /_cluster/partitions`
/// where each partition lives and how far behind its backups are, `DELETE /_cluster/nodes?k=NAME` decommissions a
/// member (its partitions move away first, then it leaves). The shapes are in docs/cluster.md.
/// </summary>
public sealed class ClusterService(IClusterView cluster) : IApiService
{
    public ServiceDeclaration Declaration => BuiltInServices.Cluster;

    public async ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        if (!request.Caller.IsSystem) return ErrorCode.Forbidden;
        switch (request.Method, request.Path)
        {
            case (ApiMethod.Get, ""):
                return ApiReply.OkWriter(writer => WriteMembers(writer, cluster.Snapshot()));
            case (ApiMethod.Get, "partitions"):
                return ApiReply.OkWriter(writer => WritePartitions(writer, cluster.Snapshot()));
            case (ApiMethod.Delete, "nodes"):
                if (request.Query.Get("k") is not { Length: > 0 } node) return ErrorCode.BadParam;
                return await cluster.DecommissionAsync(node, request.CancellationToken).ConfigureAwait(false) switch
                {
                    DecommissionOutcome.Started => ApiReply.OkWriter(writer =>
                    {
                        writer.WriteStartObject();
                        writer.WriteString("node", node);
                        writer.WriteString("state", "leaving");
                        writer.WriteEndObject();
                    }),
                    DecommissionOutcome.NotClustered => ErrorCode.NotClustered,
                    DecommissionOutcome.NoSuchNode => ErrorCode.NotFound,
                    _ => ErrorCode.Unavailable,
                };
            case (ApiMethod.Get or ApiMethod.Delete, _):
                return ErrorCode.NotFound;
            default:
                return ErrorCode.MethodNotAllowed;
        }
    }

    private static void WriteMembers(Utf8JsonWriter writer, ClusterSnapshot snapshot)
    {
        writer.WriteStartObject();
        writer.WriteString("self", snapshot.Self);
        writer.WriteString("leader", snapshot.Leader);
        writer.WriteNumber("moving", snapshot.Moving);
        writer.WriteStartArray("members");
        foreach (var member in snapshot.Members)
        {
            writer.WriteStartObject();
            writer.WriteString("name", member.Name);
            writer.WriteString("endpoint", member.Endpoint);
            writer.WriteString("url", member.Url);
            writer.WriteString("state", member.State);
            writer.WriteStartObject("load");
            writer.WriteNumber("sockets", member.Sockets);
            writer.WriteNumber("rps", Math.Round(member.RequestsPerSecond, 2));
            writer.WriteNumber("primaries", member.Primaries);
            writer.WriteNumber("replicas", member.Replicas);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WritePartitions(Utf8JsonWriter writer, ClusterSnapshot snapshot)
    {
        writer.WriteStartArray();
        foreach (var partition in snapshot.Partitions)
        {
            writer.WriteStartObject();
            writer.WriteNumber("partition", partition.Partition);
            writer.WriteNumber("epoch", partition.Epoch);
            writer.WriteString("primary", partition.Primary);
            writer.WriteStartArray("replicas");
            foreach (var replica in partition.Replicas) writer.WriteStringValue(replica);
            writer.WriteEndArray();
            writer.WriteStartArray("in_sync");
            foreach (var node in partition.InSync) writer.WriteStringValue(node);
            writer.WriteEndArray();
            writer.WriteStartObject("lag");
            foreach (var (node, lag) in partition.Lag) writer.WriteNumber(node, lag);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }
}
