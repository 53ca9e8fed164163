using System.Text.Json;
using System.Text.Json.Nodes;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Access;
using Kv4.Services.Api;
using Kv4.Services.Common;
using Kv4.Services.Generic;
using Kv4.Services.Paging;
using Kv4.Services.Storage;

namespace Kv4.Services.Accounts;

/// <summary>
/// `_acc`: accounts and sub-accounts (path `accounts`) and admin logins (path `users/admins`), see
/// <see cref="AccountDirectory"/> for where they are stored. `$sys` manages top-level accounts, a top-level
/// account (or one of its admins) manages its sub-accounts; a sub-account has none (buckets nest two levels).
/// Only the account itself manages its admins; admins may list and read them. Secrets and passwords are
/// stored hashed and never returned; a new secret is shown once, in the reply that created it.
/// </summary>
public sealed class AccountsService : ApiService
{
    private readonly AccountDirectory _directory;
    private readonly SecretHasher _secrets;
    private readonly PasswordHasher _passwords;
    private readonly AccessPolicy _accessPolicy;
    private readonly TimeProvider _clock;

    public AccountsService(AccountDirectory directory, SecretHasher secrets, PasswordHasher passwords, AccessPolicy accessPolicy, TimeProvider clock)
        : base(BuiltInServices.Accounts)
    {
        _directory = directory;
        _secrets = secrets;
        _passwords = passwords;
        _accessPolicy = accessPolicy;
        _clock = clock;
    }

    private IStore Store => _directory.Store;

    protected override async ValueTask<ApiReply> GetAsync(ApiRequest request)
    {
        if (!TryResolve(request, write: false, out var target, out var error)) return error;
        var query = request.Query;
        if (query.Has("k") && query.Has("k2")) return ErrorCode.BadParam;
        if (TimeSeriesQuery.IsAsked(request))
        {
            // The audit trail of the records, each version shown as a reply shows the record: never a hash.
            if (query.Has("k2")) return ErrorCode.BadParam;
            if (query.TryGet("k", out var one) && !AccountNames.IsValid(one)) return ErrorCode.BadKey;
            return await TimeSeriesQuery.ReadAsync(request with { Store = Store.Bucket(target.Bucket), Path = target.Path }, AccountDirectory.Layer,
                query.Get("k"), AccountRecord.Shown).ConfigureAwait(false);
        }
        if (query.TryGet("k", out var key))
        {
            if (!AddressRules.IsValidKey(key)) return ErrorCode.BadKey;
            return await _directory.ReadAsync(new EntryAddress(target.Bucket, AccountDirectory.Layer, target.Path, key), request.CancellationToken)
                .ConfigureAwait(false) is { } record
                ? Public(record)
                : ErrorCode.NotFound;
        }
        if (query.TryGet("k2", out var email))
        {
            if (target.Path != AccountDirectory.AccountsPath) return ErrorCode.BadParam;
            if (!AddressRules.IsValidKey(email)) return ErrorCode.BadKey;
            if (await Store.Bucket(target.Bucket).GetBySecondaryKeyAsync(AccountDirectory.Layer, target.Path, SecondaryKeySlot.K2,
                    EmailAddress.Normalize(email), request.CancellationToken).ConfigureAwait(false) is not { } found)
                return ErrorCode.NotFound;
            var record = AccountRecord.Parse(found.Value.Json.Span, found.Value.Version);
            return record is null ? ErrorCode.NotFound : Public(record);
        }
        return await PagedArray.KeysAsync(query, Store.Bucket(target.Bucket), AccountDirectory.Layer, target.Path, request.CancellationToken)
            .ConfigureAwait(false);
    }

    protected override async ValueTask<ApiReply> PutAsync(ApiRequest request)
    {
        if (!TryResolve(request, write: true, out var target, out var error)) return error;
        if (!RequestBody.TryParse(request.Body, out var body, out error)) return error;
        if (body.Key is null || !AccountNames.IsValid(body.Key)) return ErrorCode.BadKey;
        if (body.Value is null || JsonNode.Parse(body.StorableValue.Span) is not JsonObject details) return ErrorCode.RequireAccountDetails;

        return target.IsAdmins
            ? await PutAdminAsync(request, target, body.Key, details, WriteCondition.None).ConfigureAwait(false)
            : await CreateAccountAsync(request, target, body.Key, details).ConfigureAwait(false);
    }

    /// <summary>
    /// POST creates an account or admin that does not exist, as PUT does (<see cref="PostCreates"/>), and merges the
    /// given fields into one that does (for an admin: a new password).
    /// </summary>
    protected override async ValueTask<ApiReply> PostAsync(ApiRequest request)
    {
        if (!TryResolve(request, write: true, out var target, out var error)) return error;
        if (!RequestBody.TryParse(request.Body, out var body, out error)) return error;
        if (body.Key is null || !AccountNames.IsValid(body.Key)) return ErrorCode.BadKey;
        if (body.Value is null || JsonNode.Parse(body.StorableValue.Span) is not JsonObject changes) return ErrorCode.RequireAccountDetails;

        var name = body.Key;
        var address = target.IsAdmins ? AccountDirectory.AdminAddress(target.Bucket, name) : AccountDirectory.AccountAddress(target.Bucket, name);
        return await PostCreates.CreateOrUpdateAsync(
            await Store.GetLatestAsync(address, request.CancellationToken).ConfigureAwait(false) is not null,
            () => target.IsAdmins
                ? PutAdminAsync(request, target, name, changes, WriteCondition.IfAbsent)
                : CreateAccountAsync(request, target, name, changes),
            () => MergeAsync(request, address, name, changes, target.IsAdmins)).ConfigureAwait(false);
    }

    private async ValueTask<ApiReply> MergeAsync(ApiRequest request, EntryAddress address, string name, JsonObject changes, bool isAdmin)
    {
        // The merge is a compare-and-set on the version read, so concurrent merges never lose each other's fields.
        for (var attempt = 0; ; attempt++)
        {
            if (await _directory.ReadAsync(address, request.CancellationToken).ConfigureAwait(false) is not { } current) return ErrorCode.NotFound;
            var merged = (JsonObject)current.Fields.DeepClone();
            ErrorCode error;
            string? secret = null;
            if (isAdmin ? !TryMergeAdmin(changes, merged, out error) : !TryMerge(name, current, changes, merged, out secret, out error)) return error;
            var email = current.Email;
            try
            {
                var result = await Store.PutAsync(address, JsonSerializer.SerializeToUtf8Bytes(merged), request.Caller.Actor,
                    WriteCondition.IfVersion(current.Version), isAdmin ? SecondaryKeys.None : EmailKey(email), request.CancellationToken).ConfigureAwait(false);
                await _directory.NoteChangeAsync().ConfigureAwait(false);
                return Public(new AccountRecord(merged, result.Version), secret);
            }
            catch (EngineException e) when (e.Error == EngineError.VersionConflict && attempt < 4)
            {
                // Someone else changed the account between our read and write: merge again onto theirs.
            }
        }
    }

    protected override async ValueTask<ApiReply> DeleteAsync(ApiRequest request)
    {
        if (!TryResolve(request, write: true, out var target, out var error)) return error;
        if (!request.Query.TryGet("k", out var key)) return ErrorCode.BadParam;
        if (!AccountNames.IsValid(key)) return ErrorCode.BadKey;
        var actor = request.Caller.Actor;
        var ct = request.CancellationToken;

        if (target.IsAdmins)
        {
            var removed = await Store.DeleteAsync(AccountDirectory.AdminAddress(target.Bucket, key), actor, WriteCondition.None, ct).ConfigureAwait(false);
            await _directory.NoteChangeAsync().ConfigureAwait(false);
            return ApiReply.OkNumber(removed.Applied ? 1 : 0);
        }

        // The record goes first, so the account's logins stop before its data does. The buckets are dropped even
        // when the record was already gone, so repeating a delete that was interrupted finishes the job.
        var deleted = await Store.DeleteAsync(AccountDirectory.AccountAddress(target.Bucket, key), actor, WriteCondition.None, ct).ConfigureAwait(false);
        await _directory.NoteChangeAsync().ConfigureAwait(false);
        var bucket = request.Caller.IsSystem ? key : $"{request.Caller.Ident}#{key}";
        if (request.Caller.IsSystem)
            foreach (var sub in await Store.ListBucketsAsync(bucket + "#", ct).ConfigureAwait(false))
            {
                await Store.DeleteBucketAsync(sub, actor, ct).ConfigureAwait(false);
                await _accessPolicy.ForgetAsync(sub).ConfigureAwait(false);
            }
        await Store.DeleteBucketAsync(bucket, actor, ct).ConfigureAwait(false);
        await _accessPolicy.ForgetAsync(bucket).ConfigureAwait(false);
        await _directory.NoteChangeAsync().ConfigureAwait(false);
        return ApiReply.OkNumber(deleted.Applied ? 1 : 0);
    }

    private async ValueTask<ApiReply> CreateAccountAsync(ApiRequest request, Target target, string name, JsonObject details)
    {
        var email = details["email"] is JsonValue e && e.GetValueKind() == JsonValueKind.String ? e.GetValue<string>() : null;
        if (!EmailAddress.IsValid(email)) return ErrorCode.BadEmail;
        if (!TryTakePassword(details, out var passwordHash)) return ErrorCode.RequireAccountDetails;

        var record = new JsonObject { ["username"] = name, ["email"] = email };
        foreach (var (field, value) in details)
        {
            switch (field)
            {
                case "username":
                    if (value is not JsonValue u || u.GetValueKind() != JsonValueKind.String || u.GetValue<string>() != name) return ErrorCode.BadParam;
                    continue;
                case "email" or "password" or "created" or "active":
                    continue;
                case "secret":
                    return ErrorCode.BadParam;
                default:
                    if (AccountRecord.IsInternalField(field)) return ErrorCode.BadParam;
                    if (AccountRecord.IsProfileField(field) && !AccountRecord.IsProfileValue(value)) return ErrorCode.BadParam;
                    record[field] = value?.DeepClone();
                    break;
            }
        }
        foreach (var (field, fallback) in AccountRecord.ProfileFields)
            if (!record.ContainsKey(field)) record[field] = fallback;
        record["created"] = _clock.GetUtcNow().ToUnixTimeSeconds();
        record["active"] = true;
        record[AccountRecord.IncarnationField] = AccountRecord.NewIncarnation();
        var secret = SecretHasher.NewSecret();
        record[AccountRecord.SecretHashField] = _secrets.Hash(secret);
        if (passwordHash is not null) record[AccountRecord.PasswordHashField] = passwordHash;

        var result = await Store.PutAsync(AccountDirectory.AccountAddress(target.Bucket, name), JsonSerializer.SerializeToUtf8Bytes(record),
            request.Caller.Actor, WriteCondition.IfAbsent, EmailKey(email), request.CancellationToken).ConfigureAwait(false);
        await _directory.NoteChangeAsync().ConfigureAwait(false);
        return Public(new AccountRecord(record, result.Version), secret);
    }

    private async ValueTask<ApiReply> PutAdminAsync(ApiRequest request, Target target, string adminKey, JsonObject details, WriteCondition condition)
    {
        if (!TryTakePassword(details, out var passwordHash) || passwordHash is null) return ErrorCode.RequireAccountDetails;
        var record = new JsonObject
        {
            ["username"] = adminKey,
            ["created"] = _clock.GetUtcNow().ToUnixTimeSeconds(),
            [AccountRecord.PasswordHashField] = passwordHash,
            [AccountRecord.IncarnationField] = AccountRecord.NewIncarnation(),
        };
        var result = await Store.PutAsync(AccountDirectory.AdminAddress(target.Bucket, adminKey), JsonSerializer.SerializeToUtf8Bytes(record),
            request.Caller.Actor, condition, SecondaryKeys.None, request.CancellationToken).ConfigureAwait(false);
        await _directory.NoteChangeAsync().ConfigureAwait(false);
        return Public(new AccountRecord(record, result.Version));
    }

    /// <summary>Applies a POST's partial fields onto <paramref name="merged"/>; null removes a custom field.</summary>
    private bool TryMerge(string name, AccountRecord current, JsonObject changes, JsonObject merged, out string? secret, out ErrorCode error)
    {
        secret = null;
        error = default;
        foreach (var (field, value) in changes)
        {
            var kind = value?.GetValueKind() ?? JsonValueKind.Null;
            switch (field)
            {
                case "username":
                    if (kind != JsonValueKind.String || value!.GetValue<string>() != name) return Refuse(ErrorCode.UsernameIsImmutable, out error);
                    break;
                case "email":
                    if (kind != JsonValueKind.String || current.Email is not { } email
                        || EmailAddress.Normalize(value!.GetValue<string>()) != EmailAddress.Normalize(email))
                        return Refuse(ErrorCode.EmailIsImmutable, out error);
                    break;
                case "password":
                    if (!TryHashPassword(value, out var hash)) return Refuse(ErrorCode.RequireAccountDetails, out error);
                    merged[AccountRecord.PasswordHashField] = hash;
                    break;
                case "secret":
                    // `"secret": true` issues a new secret (shown once in this reply); the old one stops working at once.
                    if (kind != JsonValueKind.True) return Refuse(ErrorCode.BadParam, out error);
                    secret = SecretHasher.NewSecret();
                    merged[AccountRecord.SecretHashField] = _secrets.Hash(secret);
                    break;
                case "active":
                    if (kind is not (JsonValueKind.True or JsonValueKind.False)) return Refuse(ErrorCode.BadParam, out error);
                    merged["active"] = kind == JsonValueKind.True;
                    break;
                case "created":
                    if (!JsonNode.DeepEquals(value, current.Fields["created"])) return Refuse(ErrorCode.BadParam, out error);
                    break;
                default:
                    if (AccountRecord.IsInternalField(field)) return Refuse(ErrorCode.BadParam, out error);
                    if (AccountRecord.IsProfileField(field))
                    {
                        // A profile member stays in the record; null is its "not set".
                        if (!AccountRecord.IsProfileValue(value)) return Refuse(ErrorCode.BadParam, out error);
                        merged[field] = value?.DeepClone();
                    }
                    else if (value is null) merged.Remove(field);
                    else merged[field] = value.DeepClone();
                    break;
            }
        }
        return true;
    }

    /// <summary>An admin holds only its password: a POST to an existing admin sets a new one (required).</summary>
    private bool TryMergeAdmin(JsonObject changes, JsonObject merged, out ErrorCode error)
    {
        error = default;
        foreach (var (field, value) in changes)
        {
            switch (field)
            {
                case "password":
                    if (!TryHashPassword(value, out var hash)) return Refuse(ErrorCode.RequireAccountDetails, out error);
                    merged[AccountRecord.PasswordHashField] = hash;
                    break;
                case "username":
                    if (value is not JsonValue u || u.GetValueKind() != JsonValueKind.String || u.GetValue<string>() != merged["username"]?.GetValue<string>())
                        return Refuse(ErrorCode.UsernameIsImmutable, out error);
                    break;
                default:
                    return Refuse(ErrorCode.BadParam, out error);
            }
        }
        return changes.ContainsKey("password") || Refuse(ErrorCode.RequireAccountDetails, out error);
    }

    /// <summary>An optional `password` member: absent is fine (hash null), a non-empty bounded string is hashed, anything else is refused.</summary>
    private bool TryTakePassword(JsonObject details, out string? hash)
    {
        hash = null;
        return !details.TryGetPropertyValue("password", out var value) || TryHashPassword(value, out hash);
    }

    private bool TryHashPassword(JsonNode? value, out string? hash)
    {
        hash = null;
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return false;
        var password = v.GetValue<string>();
        if (password.Length is 0 or > PasswordHasher.MaxPasswordLength) return false;
        hash = _passwords.Hash(password);
        return true;
    }

    private static bool Refuse(ErrorCode code, out ErrorCode error)
    {
        error = code;
        return false;
    }

    private static SecondaryKeys EmailKey(string? email) => email is null ? SecondaryKeys.None : new SecondaryKeys(EmailAddress.Normalize(email));

    private static ApiReply Public(AccountRecord record, string? secret = null) => ApiReply.OkStored(record.PublicJson(secret), record.Version);

    /// <summary>Which store path and bucket a call addresses, and whether this caller may make it.</summary>
    private static bool TryResolve(ApiRequest request, bool write, out Target target, out ErrorCode error)
    {
        var caller = request.Caller;
        target = default;
        error = default;
        switch (request.Path)
        {
            case AccountDirectory.AccountsPath:
                if (caller.Kind == CallerKind.SubAccount) return Refuse(ErrorCode.Forbidden, out error);
                target = new Target(caller.IsSystem ? Caller.SystemBucket : caller.Ident, AccountDirectory.AccountsPath, false);
                return true;
            case AccountDirectory.AdminsPath:
                var allowed = caller.Kind == CallerKind.Account || (!write && caller.Kind == CallerKind.Admin);
                if (!allowed) return Refuse(ErrorCode.Forbidden, out error);
                target = new Target(caller.Ident, AccountDirectory.AdminsPath, true);
                return true;
            default:
                return Refuse(ErrorCode.BadPath, out error);
        }
    }

    private readonly record struct Target(string Bucket, string Path, bool IsAdmins);
}
