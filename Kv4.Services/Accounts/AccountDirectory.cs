using Kv4.Engine.Model;
using Kv4.Services.Access;
using Kv4.Services.Api;
using Kv4.Services.Storage;

namespace Kv4.Services.Accounts;

/// <summary>
/// Where accounts and admins live, shared by <see cref="AccountsService"/> (writes) and <see cref="CallerAuthenticator"/> (reads).
/// Top-level account `elena`: bucket `$sys`, layer `acc`, path `accounts`, key `elena`, k2 = lower-cased email.
/// Sub-account `elena#lily`: bucket `elena`, same layer and path, key `lily`. Admin `boss` of elena: bucket `elena`,
/// layer `acc`, path `users/admins`, key `boss`. So an account's own bucket holds its sub-accounts and admins, and
/// deleting the bucket removes them with it.
/// <see cref="Generation"/> counts changes that can make a cached login wrong (secret, password, active, delete);
/// every such write bumps it as soon as the engine acknowledged it, which empties the login cache at once, and
/// raises <see cref="StandingChanges"/>, which re-admits every live connection.
/// </summary>
public sealed class AccountDirectory(IStore store, StandingChanges changes)
{
    public const string Layer = "acc";
    public const string AccountsPath = "accounts";
    public const string AdminsPath = "users/admins";

    private long _generation;

    /// <summary>The privileged store: account records live in `$sys` and in each account's own bucket.</summary>
    public IStore Store { get; } = store;

    public long Generation => Volatile.Read(ref _generation);

    public ValueTask NoteChangeAsync()
    {
        Interlocked.Increment(ref _generation);
        return changes.RaiseAsync();
    }

    /// <summary>The bucket holding the record of account `ident` (sub null) or sub-account `ident#sub`.</summary>
    public static string ParentBucket(string ident, string? sub) => sub is null ? Caller.SystemBucket : ident;

    public static EntryAddress AccountAddress(string parentBucket, string name) => new(parentBucket, Layer, AccountsPath, name);

    public static EntryAddress AdminAddress(string bucket, string adminKey) => new(bucket, Layer, AdminsPath, adminKey);

    public ValueTask<AccountRecord?> GetAccountAsync(string parentBucket, string name, CancellationToken cancellationToken = default) =>
        ReadAsync(AccountAddress(parentBucket, name), cancellationToken);

    public ValueTask<AccountRecord?> GetAdminAsync(string bucket, string adminKey, CancellationToken cancellationToken = default) =>
        ReadAsync(AdminAddress(bucket, adminKey), cancellationToken);

    public async ValueTask<AccountRecord?> ReadAsync(EntryAddress address, CancellationToken cancellationToken = default)
    {
        if (await Store.GetLatestAsync(address, cancellationToken).ConfigureAwait(false) is not { } value) return null;
        return AccountRecord.Parse(value.Json.Span, value.Version);
    }
}
