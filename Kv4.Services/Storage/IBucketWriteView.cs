using Kv4.Engine.Model;

namespace Kv4.Services.Storage;

/// <summary>What a service may write, for one bucket. Every write appends a version stamped with its actor.</summary>
public interface IBucketWriteView
{
    ValueTask<WriteResult> PutAsync(string layer, string path, string key, ReadOnlyMemory<byte> json, string actor,
        WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default);

    ValueTask<WriteResult> DeleteAsync(string layer, string path, string key, string actor,
        WriteCondition condition = default, CancellationToken cancellationToken = default);

    /// <summary>Deletes every live entry at or under <paramref name="pathPrefix"/>; answers how many.</summary>
    ValueTask<long> DeleteTreeAsync(string layer, string pathPrefix, string actor, CancellationToken cancellationToken = default);
}
