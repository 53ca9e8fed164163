using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// Checks a credential (<see cref="LoginForm"/>) against the stored hashes and turns it into a <see cref="Caller"/>.
/// Refused: unknown names, wrong secrets, an inactive account, a sub-account or admin of an inactive top-level
/// account (the top-level account's `active:false` blocks every login into its buckets), and anything deleted.
/// A refusal costs what a wrong secret or password costs: a name without a record (or a record without the hash) is
/// checked against a dummy hash of the same kind, so the time taken does not tell which accounts and admins exist.
/// Every check first asks the <see cref="LoginThrottle"/>, which refuses a login or client address that failed too
/// often before anything is hashed.
/// A success is cached for <see cref="ServiceSettings.LoginCacheSeconds"/> under an HMAC of the whole credential
/// with a per-process random key (the plain secret is never a cache key), and the cache is asked first: a credential
/// that just succeeded is not a guess, so it is answered even while its login waits. Each entry remembers the
/// <see cref="AccountDirectory.Generation"/> it was checked at; any account or admin change bumps it, so a
/// changed secret, a deactivation or a deletion is refused from the next call on.
/// Example state after elena logged in at generation 7: _cache[HMAC("elena\nS")] = (Caller elena, 7, expires t+30s).
/// </summary>
public sealed class CallerAuthenticator : ICallerAuthenticator
{
    private const int MaxCachedLogins = 10_000;

    private readonly AccountDirectory _directory;
    private readonly SecretHasher _secrets;
    private readonly PasswordHasher _passwords;
    private readonly LoginThrottle _throttle;
    private readonly string _dummyPasswordHash;
    private readonly string _dummySecretHash;
    private readonly byte[] _systemSecretHash;
    private readonly byte[] _cacheKey = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<UInt128, CachedLogin> _cache = new();
    private readonly ConcurrentDictionary<string, (long Generation, string? Standing)> _standing = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private readonly TimeSpan _cacheFor;

    public CallerAuthenticator(AccountDirectory directory, SecretHasher secrets, PasswordHasher passwords, LoginThrottle throttle,
        string systemSecret, TimeProvider clock, TimeSpan cacheFor)
    {
        if (string.IsNullOrEmpty(systemSecret)) throw new ArgumentException("the $sys secret is required", nameof(systemSecret));
        _directory = directory;
        _secrets = secrets;
        _passwords = passwords;
        _throttle = throttle;
        _dummyPasswordHash = passwords.Hash(SecretHasher.NewSecret());
        _dummySecretHash = secrets.Hash(SecretHasher.NewSecret());
        _systemSecretHash = HashForCompare(systemSecret);
        _clock = clock;
        _cacheFor = cacheFor;
    }

    /// <summary>How many password (PBKDF2) and secret (HMAC) checks logins have run.</summary>
    public long PasswordChecks => _passwords.Verifications;

    /// <inheritdoc cref="PasswordChecks"/>
    public long SecretChecks => _secrets.Verifications;

    public async ValueTask<LoginResult> AuthenticateAsync(string userName, string password, IPAddress? client, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(userName) || string.IsNullOrEmpty(password)
            || userName.Length > LoginForm.MaxPartLength || password.Length > LoginForm.MaxPartLength)
            return LoginResult.Refused;
        // The cache is asked before the credential is even parsed: a repeated login costs one HMAC and one lookup.
        var cacheKey = CacheKey(userName, password);
        var generation = _directory.Generation;
        var now = _clock.GetUtcNow().UtcTicks;
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Generation == generation && now < cached.ExpiresAt)
            return LoginResult.Accepted(cached.Caller);

        if (!LoginForm.TryParse(userName, password, out var form)) return LoginResult.Refused;
        var result = await AttemptAsync(form, client, passwordLogin: false, cancellationToken).ConfigureAwait(false);
        if (result.Caller is { } caller)
        {
            if (_cache.Count >= MaxCachedLogins) _cache.Clear();
            _cache[cacheKey] = new CachedLogin(caller, generation, now + _cacheFor.Ticks);
        }
        return result;
    }

    /// <summary>
    /// A password login (the `_sess` service): `elena` / `elena#lily` with the account's password, `elena:boss` with
    /// an admin's password. Not cached: sessions are created rarely and PBKDF2 is meant to be slow.
    /// </summary>
    public ValueTask<LoginResult> AuthenticatePasswordAsync(string login, string password, IPAddress? client, CancellationToken cancellationToken = default) =>
        LoginForm.TryParsePasswordLogin(login, password, out var form)
            ? AttemptAsync(form, client, passwordLogin: true, cancellationToken)
            : new(LoginResult.Refused);

    /// <summary>
    /// Whether a caller authenticated earlier (a bearer token carries one for minutes, a live connection for hours) may
    /// still act: its top-level account exists and is active, so does its sub-account or admin record, and its
    /// <see cref="Caller.Standing"/> still matches those records (no re-creation, no new secret or password since).
    /// Answered from memory and remembered per actor until the next account change, so it can be asked on every request.
    /// </summary>
    public async ValueTask<bool> StandsAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        if (caller.IsSystem) return true;
        if (caller.Standing is null) return false;
        var generation = _directory.Generation;
        if (!_standing.TryGetValue(caller.Actor, out var known) || known.Generation != generation)
        {
            known = (generation, await CurrentStandingAsync(caller, cancellationToken).ConfigureAwait(false));
            if (_standing.Count >= MaxCachedLogins) _standing.Clear();
            _standing[caller.Actor] = known;
        }
        return known.Standing is not null && string.Equals(known.Standing, caller.Standing, StringComparison.Ordinal);
    }

    /// <summary>The standing the records give the caller's identity as they are; null when it may not act at all.</summary>
    private async ValueTask<string?> CurrentStandingAsync(Caller caller, CancellationToken cancellationToken)
    {
        if (await _directory.GetAccountAsync(Caller.SystemBucket, caller.Ident, cancellationToken).ConfigureAwait(false) is not { Active: true } top)
            return null;
        switch (caller.Kind)
        {
            case CallerKind.Account:
                return caller.Bucket == caller.Ident ? CallerStanding.Of(top) : null;
            case CallerKind.SubAccount:
                return caller.Bucket.Length > caller.Ident.Length + 1
                       && await _directory.GetAccountAsync(caller.Ident, caller.Bucket[(caller.Ident.Length + 1)..], cancellationToken)
                           .ConfigureAwait(false) is { Active: true } sub
                    ? CallerStanding.Of(top, sub)
                    : null;
            case CallerKind.Admin:
                return caller.Actor.StartsWith(caller.Ident + ":", StringComparison.Ordinal)
                       && await _directory.GetAdminAsync(caller.Ident, caller.Actor[(caller.Ident.Length + 1)..], cancellationToken)
                           .ConfigureAwait(false) is { } admin
                    ? CallerStanding.Of(top, admin)
                    : null;
            default:
                return null;
        }
    }

    private async ValueTask<LoginResult> AttemptAsync(LoginForm form, IPAddress? client, bool passwordLogin, CancellationToken cancellationToken)
    {
        var actor = form.Actor;
        if (!_throttle.TryAdmit(actor, client, out var retryAfter)) return LoginResult.Wait(retryAfter);
        var caller = await VerifyAsync(form, passwordLogin, cancellationToken).ConfigureAwait(false);
        if (caller is null)
        {
            _throttle.Failed(actor, client);
            return LoginResult.Refused;
        }
        _throttle.Succeeded(actor);
        return LoginResult.Accepted(caller);
    }

    private async ValueTask<Caller?> VerifyAsync(LoginForm form, bool passwordLogin, CancellationToken cancellationToken)
    {
        if (form.Kind == LoginKind.System)
            return CryptographicOperations.FixedTimeEquals(_systemSecretHash, HashForCompare(form.Secret))
                ? new Caller(Caller.SystemBucket, Caller.SystemBucket, CallerKind.System, [CallerRoles.System])
                : null;

        // Every login into an account's buckets needs the top-level account to exist and be active. Whatever is
        // missing, the secret is still hashed (against a dummy), so a refusal takes as long as a wrong secret.
        var top = await _directory.GetAccountAsync(Caller.SystemBucket, form.Ident, cancellationToken).ConfigureAwait(false) is { Active: true } found
            ? found
            : null;
        switch (form.Kind)
        {
            case LoginKind.Account:
                return Check(top, form.Secret, passwordLogin)
                    ? new Caller(form.Ident, form.Ident, CallerKind.Account, [CallerRoles.Account]) { Standing = CallerStanding.Of(top!) }
                    : null;
            case LoginKind.SubAccount or LoginKind.SubAccountByParentSecret:
            {
                var sub = top is not null
                          && await _directory.GetAccountAsync(form.Ident, form.Sub!, cancellationToken).ConfigureAwait(false) is { Active: true } record
                    ? record
                    : null;
                var checkedAgainst = form.Kind == LoginKind.SubAccount ? sub : sub is null ? null : top;
                if (!Check(checkedAgainst, form.Secret, passwordLogin)) return null;
                var bucket = form.Bucket;
                return new Caller(bucket, bucket, CallerKind.SubAccount, [CallerRoles.SubAccount]) { Standing = CallerStanding.Of(top!, sub) };
            }
            case LoginKind.Admin:
            {
                var admin = top is null ? null : await _directory.GetAdminAsync(form.Ident, form.AdminKey!, cancellationToken).ConfigureAwait(false);
                var hash = admin?.PasswordHash;
                return VerifyPassword(form.Secret, hash)
                    ? new Caller(form.Ident, $"{form.Ident}:{form.AdminKey}", CallerKind.Admin, [CallerRoles.Admin]) { Standing = CallerStanding.Of(top!, admin) }
                    : null;
            }
            default:
                return null;
        }
    }

    private bool Check(AccountRecord? record, string given, bool passwordLogin) =>
        passwordLogin ? VerifyPassword(given, record?.PasswordHash) : VerifySecret(given, record?.SecretHash);

    /// <summary>Without a stored hash the dummy is checked and the login refused whatever it gives.</summary>
    private bool VerifyPassword(string given, string? stored) => _passwords.Verify(given, stored ?? _dummyPasswordHash) && stored is not null;

    /// <inheritdoc cref="VerifyPassword"/>
    private bool VerifySecret(string given, string? stored) => _secrets.Verify(given, stored ?? _dummySecretHash) && stored is not null;

    /// <summary>HMAC of "user\npassword" with the per-process key; both parts are bounded, so the text fits on the stack.</summary>
    private UInt128 CacheKey(string userName, string password)
    {
        Span<byte> text = stackalloc byte[(userName.Length + password.Length) * 3 + 1];
        var length = Encoding.UTF8.GetBytes(userName, text);
        text[length++] = (byte)'\n';
        length += Encoding.UTF8.GetBytes(password, text[length..]);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_cacheKey, text[..length], mac);
        return new UInt128(BitConverter.ToUInt64(mac), BitConverter.ToUInt64(mac[8..]));
    }

    private byte[] HashForCompare(string secret) => HMACSHA256.HashData(_cacheKey, Encoding.UTF8.GetBytes(secret));

    private readonly record struct CachedLogin(Caller Caller, long Generation, long ExpiresAt);
}
