using System.Security.Cryptography;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Access;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Kv4.Services.Data;
using Kv4.Services.Discovery;
using Kv4.Services.Namespace;
using Kv4.Services.Storage;

namespace Kv4.Services;

/// <summary>
/// The core services (`_data`, `_ns`, `_acc`, `_auth`, `_ds`), the accounts' authenticator and the IP deny list.
/// Built by <see cref="Kv4Runtime"/>, the one composition root, after the store has recovered.
/// </summary>
public sealed class ServiceSet
{
    private static readonly EntryAddress SecretKeyAddress = new(Caller.SystemBucket, AccountDirectory.Layer, "keys", "secret-hash");

    private ServiceSet(IReadOnlyList<IApiService> services, CallerAuthenticator authenticator, AccessPolicy accessPolicy,
        NamespaceService namespaces, AccountDirectory accounts)
    {
        Services = services;
        Authenticator = authenticator;
        AccessPolicy = accessPolicy;
        Namespaces = namespaces;
        Accounts = accounts;
    }

    public IReadOnlyList<IApiService> Services { get; }

    /// <summary>The Basic-credential check (<see cref="ICallerAuthenticator"/>), plus password logins for `_sess`.</summary>
    public CallerAuthenticator Authenticator { get; }

    public AccessPolicy AccessPolicy { get; }

    /// <summary>`_ns`, for services that need to know whether a node exists (`_token`).</summary>
    public NamespaceService Namespaces { get; }

    /// <summary>Read access to account records (e.g. to check that an account is still active).</summary>
    public AccountDirectory Accounts { get; }

    public static async ValueTask<ServiceSet> CreateAsync(IStore store, ServiceSettings settings, StandingChanges changes,
        CancellationToken cancellationToken = default)
    {
        var secretKey = settings.SecretHashKey ?? await LoadOrCreateSecretKeyAsync(store, cancellationToken).ConfigureAwait(false);
        var secrets = new SecretHasher(secretKey);
        var passwords = new PasswordHasher(settings.PasswordIterations);
        var directory = new AccountDirectory(store, changes);
        var accessPolicy = await AccessPolicy.LoadAsync(store, changes, cancellationToken).ConfigureAwait(false);
        var authenticator = new CallerAuthenticator(directory, secrets, passwords, new LoginThrottle(settings.Login, settings.Clock),
            settings.SystemSecret, settings.Clock,
            TimeSpan.FromSeconds(settings.LoginCacheSeconds));
        var namespaces = new NamespaceService();
        IApiService[] services =
        [
            new DataService(),
            namespaces,
            new AccountsService(directory, secrets, passwords, accessPolicy, settings.Clock),
            new AuthService(accessPolicy),
            new DiscoveryService(),
        ];
        return new ServiceSet(services, authenticator, accessPolicy, namespaces, directory);
    }

    private static async ValueTask<byte[]> LoadOrCreateSecretKeyAsync(IStore store, CancellationToken cancellationToken)
    {
        if (await ReadKeyAsync(store, cancellationToken).ConfigureAwait(false) is { } key) return key;
        var fresh = RandomNumberGenerator.GetBytes(32);
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Convert.ToBase64String(fresh));
        try
        {
            await store.PutAsync(SecretKeyAddress, json, Caller.SystemBucket, WriteCondition.IfAbsent, SecondaryKeys.None, cancellationToken)
                .ConfigureAwait(false);
            return fresh;
        }
        catch (EngineException e) when (e.Error == EngineError.Exists)
        {
            // another instance on the same store won the race
            if (await ReadKeyAsync(store, cancellationToken).ConfigureAwait(false) is { } won) return won;
            throw;
        }
    }

    private static async ValueTask<byte[]?> ReadKeyAsync(IStore store, CancellationToken cancellationToken)
    {
        if (await store.GetLatestAsync(SecretKeyAddress, cancellationToken).ConfigureAwait(false) is not { } value) return null;
        var text = System.Text.Json.JsonSerializer.Deserialize<string>(value.Json.Span);
        if (text is null) return null;
        return Convert.FromBase64String(text);
    }
}
