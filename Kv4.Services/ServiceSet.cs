using System.Security.Cryptography;
using Kv4.Engine;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Access;
using Kv4.Services.Accounts;
using Kv4.Services.Api;
using Kv4.Services.Data;
using Kv4.Services.Discovery;
using Kv4.Services.Namespace;

namespace Kv4.Services;

/// <summary>
/// Everything the host wires: the services of this project's first issue (`_data`, `_ns`, `_acc`, `_auth`, `_ds`),
/// the authenticator the Basic handler calls and the IP policy the host asks before each call. Build it once at
/// startup, after the store has recovered: <c>var set = await ServiceSet.CreateAsync(store, settings);</c> then
/// <c>new ServiceCatalog(set.Services.Concat(otherServices))</c>.
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

    public static async ValueTask<ServiceSet> CreateAsync(Kv4Store store, ServiceSettings settings, CancellationToken cancellationToken = default)
    {
        var secretKey = settings.SecretHashKey ?? await LoadOrCreateSecretKeyAsync(store, cancellationToken).ConfigureAwait(false);
        var secrets = new SecretHasher(secretKey);
        var passwords = new PasswordHasher(settings.PasswordIterations);
        var directory = new AccountDirectory(store);
        var accessPolicy = AccessPolicy.Load(store);
        var authenticator = new CallerAuthenticator(directory, secrets, settings.SystemSecret, settings.Clock,
            TimeSpan.FromSeconds(settings.LoginCacheSeconds));
        var namespaces = new NamespaceService(store);
        IApiService[] services =
        [
            new DataService(store),
            namespaces,
            new AccountsService(directory, secrets, passwords, accessPolicy, settings.Clock),
            new AuthService(store, accessPolicy),
            new DiscoveryService(store),
        ];
        return new ServiceSet(services, authenticator, accessPolicy, namespaces, directory);
    }

    private static async ValueTask<byte[]> LoadOrCreateSecretKeyAsync(Kv4Store store, CancellationToken cancellationToken)
    {
        if (TryReadKey(store, out var key)) return key;
        var fresh = RandomNumberGenerator.GetBytes(32);
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Convert.ToBase64String(fresh));
        try
        {
            await store.PutAsync(SecretKeyAddress, json, Caller.SystemBucket, WriteCondition.IfAbsent, SecondaryKeys.None, cancellationToken)
                .ConfigureAwait(false);
            return fresh;
        }
        catch (EngineException e) when (e.Error == EngineError.Exists && TryReadKey(store, out key))
        {
            return key; // another instance on the same store won the race
        }
    }

    private static bool TryReadKey(Kv4Store store, out byte[] key)
    {
        key = [];
        if (!store.TryGetLatest(SecretKeyAddress, out var value)) return false;
        var text = System.Text.Json.JsonSerializer.Deserialize<string>(value.Json.Span);
        if (text is null) return false;
        key = Convert.FromBase64String(text);
        return true;
    }
}
