using Kv4.Engine.Model;

namespace Kv4.Services.Storage;

/// <summary>
/// The privileged store addressed by whole <see cref="EntryAddress"/>es, for the parts whose records live in a
/// bucket other than the caller's (an account's record is in `$sys`, a sub-account's in its parent's bucket).
/// </summary>
public static class StoreAddresses
{
    public static ValueTask<StoredValue?> GetLatestAsync(this IStore store, EntryAddress address, CancellationToken cancellationToken = default) =>
        store.Bucket(address.Bucket).GetLatestAsync(address.Layer, address.Path, address.Key, cancellationToken);

    public static ValueTask<WriteResult> PutAsync(this IStore store, EntryAddress address, ReadOnlyMemory<byte> json, string actor,
        WriteCondition condition = default, SecondaryKeys secondaryKeys = default, CancellationToken cancellationToken = default) =>
        store.Bucket(address.Bucket).PutAsync(address.Layer, address.Path, address.Key, json, actor, condition, secondaryKeys, cancellationToken);

    public static ValueTask<WriteResult> DeleteAsync(this IStore store, EntryAddress address, string actor,
        WriteCondition condition = default, CancellationToken cancellationToken = default) =>
        store.Bucket(address.Bucket).DeleteAsync(address.Layer, address.Path, address.Key, actor, condition, cancellationToken);
}
