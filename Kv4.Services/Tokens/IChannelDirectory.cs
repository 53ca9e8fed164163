namespace Kv4.Services.Tokens;

/// <summary>Whether a channel (a node of the account's `_ns` tree) exists; `_token` refuses tokens for absent channels.</summary>
public interface IChannelDirectory
{
    ValueTask<bool> ExistsAsync(Kv4.Services.Storage.IBucketReadView bucket, string path, CancellationToken cancellationToken);
}
