using Kv4.Engine.Backups;
using Kv4.Services.Api;
using Kv4.Services.Storage;

namespace Kv4.Services.Backup;

/// <summary>
/// `GET /_backup`, `$sys` only: an online backup of everything this node (a single node) or the cluster (a cluster
/// node) stores, sent as it is read, in <see cref="BackupFile"/>'s format (`application/vnd.kv4.backup`), while writes
/// go on. Restored offline into an empty data directory (docs/operations.md, "Backups").
/// </summary>
public sealed class BackupService(IStore store) : IApiService
{
    public ServiceDeclaration Declaration => BuiltInServices.Backup;

    public ValueTask<ApiReply> HandleAsync(ApiRequest request)
    {
        if (!request.Caller.IsSystem) return new(ErrorCode.Forbidden);
        return (request.Method, request.Path) switch
        {
            (ApiMethod.Get, "") => new(ApiReply.OkBinary(new BinaryValue(BackupFile.MediaType,
                async (output, cancellationToken) => await store.WriteBackupAsync(output, cancellationToken).ConfigureAwait(false)))),
            (ApiMethod.Get, _) => new(ErrorCode.NotFound),
            _ => new(ErrorCode.MethodNotAllowed),
        };
    }
}
