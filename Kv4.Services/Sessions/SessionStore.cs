using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kv4.Engine.Model;
using Kv4.Services.Access;
using Kv4.Services.Api;
using Kv4.Services.Storage;

namespace Kv4.Services.Sessions;

/// <summary>
/// Login sessions, kept in the engine in the session owner's bucket, layer `sess`, root path, key = session id:
/// <code>
/// (elena, sess, "", "9b1f..") = {"sid":"9b1f..","login":"elena","kind":"Account","roles":["account"],
///                                "created":1763900000000,"expires":1766492000000,"refresh":"&lt;sha-256 hex of the refresh secret&gt;",
///                                "std":"&lt;the login's standing&gt;"}
/// </code>
/// Revoking deletes the entry; a session whose entry is gone (revoked, or its bucket deleted) is revoked, and
/// <see cref="IsRevokedAsync"/> is a latest-value read. The refresh token handed out is "&lt;base64url bucket&gt;.&lt;sid&gt;.&lt;secret&gt;";
/// only the secret's hash is stored, and each refresh replaces it (compare-and-set, so a token refreshes once).
/// </summary>
public sealed class SessionStore(IStore store, StandingChanges changes, TimeProvider? clock = null) : ISessionRegistry
{
    public const string Layer = "sess";
    private const string Root = "";
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public async ValueTask<bool> IsRevokedAsync(string bucket, string sessionId, CancellationToken cancellationToken = default) =>
        !Kv4.Engine.Rules.AddressRules.IsValidBucket(bucket) || !Kv4.Engine.Rules.AddressRules.IsValidKey(sessionId) ||
        await store.GetLatestAsync(new EntryAddress(bucket, Layer, Root, sessionId), cancellationToken).ConfigureAwait(false) is null;

    /// <summary>Opens a session for an authenticated caller. Returns its id and refresh token.</summary>
    public async Task<(string SessionId, string RefreshToken)> OpenAsync(Caller caller, TimeSpan refreshLifetime, CancellationToken cancellationToken)
    {
        var sid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var secret = NewSecret();
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var record = new SessionRecord(sid, caller.Actor, caller.Kind, caller.Roles, now, now + (long)refreshLifetime.TotalMilliseconds, Hash(secret))
        {
            Standing = caller.Standing,
        };
        await store.PutAsync(Address(caller.Bucket, sid), record.ToJson(), caller.Actor, WriteCondition.IfAbsent, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (sid, RefreshToken(caller.Bucket, sid, secret));
    }

    /// <summary>
    /// Trades a refresh token for the session's caller and a new refresh token. Null when the token is malformed,
    /// unknown, already used, expired or revoked.
    /// </summary>
    public async Task<(Caller Caller, string RefreshToken)?> RefreshAsync(string refreshToken, TimeSpan refreshLifetime, CancellationToken cancellationToken)
    {
        if (!TryParseRefreshToken(refreshToken, out var bucket, out var sid, out var secret)) return null;
        if (await store.GetLatestAsync(Address(bucket, sid), cancellationToken).ConfigureAwait(false) is not { } stored) return null;
        var record = SessionRecord.Parse(stored.Json.Span);
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (record is null || record.ExpiresMs <= now) return null;
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(record.RefreshHash), Encoding.ASCII.GetBytes(Hash(secret)))) return null;

        var newSecret = NewSecret();
        var renewed = record with { ExpiresMs = now + (long)refreshLifetime.TotalMilliseconds, RefreshHash = Hash(newSecret) };
        try
        {
            await store.PutAsync(Address(bucket, sid), renewed.ToJson(), record.Login, WriteCondition.IfVersion(stored.Version), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Kv4.Engine.Rules.EngineException e) when (e.Error is Kv4.Engine.Rules.EngineError.VersionConflict or Kv4.Engine.Rules.EngineError.NotFound)
        {
            return null; // refreshed (or revoked) concurrently: this token is spent
        }
        // The session keeps the standing it was opened with: after a new password or a re-creation the refreshed
        // token is refused like the old one.
        var caller = new Caller(bucket, record.Login, record.Kind, record.Roles, sid) { Standing = record.Standing };
        return (caller, RefreshToken(bucket, sid, newSecret));
    }

    /// <summary>The sessions of a bucket, oldest first.</summary>
    public async ValueTask<IReadOnlyList<SessionRecord>> ListAsync(string bucket, CancellationToken cancellationToken)
    {
        var list = new List<SessionRecord>();
        foreach (var sid in await store.Bucket(bucket).ListKeysAsync(Layer, Root, cancellationToken).ConfigureAwait(false))
            if (await store.GetLatestAsync(Address(bucket, sid), cancellationToken).ConfigureAwait(false) is { } value
                && SessionRecord.Parse(value.Json.Span) is { } record)
                list.Add(record);
        list.Sort((a, b) => a.CreatedMs.CompareTo(b.CreatedMs));
        return list;
    }

    /// <summary>Revokes one session (true if it existed) of the bucket.</summary>
    public async Task<bool> RevokeAsync(string bucket, string sessionId, string actor, CancellationToken cancellationToken)
    {
        if (!Kv4.Engine.Rules.AddressRules.IsValidKey(sessionId)) return false;
        var result = await store.DeleteAsync(Address(bucket, sessionId), actor, cancellationToken: cancellationToken).ConfigureAwait(false);
        await changes.RaiseAsync().ConfigureAwait(false);
        return result.Applied;
    }

    /// <summary>Revokes every session of the bucket; returns how many.</summary>
    public async Task<long> RevokeAllAsync(string bucket, string actor, CancellationToken cancellationToken)
    {
        var revoked = await store.Bucket(bucket).DeleteTreeAsync(Layer, Root, actor, cancellationToken).ConfigureAwait(false);
        await changes.RaiseAsync().ConfigureAwait(false);
        return revoked;
    }

    private static EntryAddress Address(string bucket, string sid) => new(bucket, Layer, Root, sid);

    private static string NewSecret() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(secret)));

    private static string RefreshToken(string bucket, string sid, string secret) => $"{Base64Url(Encoding.UTF8.GetBytes(bucket))}.{sid}.{secret}";

    private static bool TryParseRefreshToken(string token, out string bucket, out string sid, out string secret)
    {
        bucket = sid = secret = "";
        if (token.Length > 2048) return false;
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[1].Length != 32 || parts[2].Length == 0) return false;
        try
        {
            bucket = Encoding.UTF8.GetString(FromBase64Url(parts[0]));
        }
        catch (FormatException)
        {
            return false;
        }
        sid = parts[1];
        secret = parts[2];
        return Kv4.Engine.Rules.AddressRules.IsValidBucket(bucket);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }
}

/// <summary>One stored session (see <see cref="SessionStore"/> for the stored form).</summary>
public sealed record SessionRecord(string SessionId, string Login, CallerKind Kind, IReadOnlyList<string> Roles, long CreatedMs, long ExpiresMs, string RefreshHash)
{
    /// <summary>The <see cref="Caller.Standing"/> of the login that opened it.</summary>
    public string? Standing { get; init; }

    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("sid", SessionId);
            writer.WriteString("login", Login);
            writer.WriteString("kind", Kind.ToString());
            writer.WriteStartArray("roles");
            foreach (var role in Roles) writer.WriteStringValue(role);
            writer.WriteEndArray();
            writer.WriteNumber("created", CreatedMs);
            writer.WriteNumber("expires", ExpiresMs);
            writer.WriteString("refresh", RefreshHash);
            if (Standing is not null) writer.WriteString("std", Standing);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static SessionRecord? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return new SessionRecord(
                root.GetProperty("sid").GetString()!,
                root.GetProperty("login").GetString()!,
                Enum.Parse<CallerKind>(root.GetProperty("kind").GetString()!),
                root.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToArray(),
                root.GetProperty("created").GetInt64(),
                root.GetProperty("expires").GetInt64(),
                root.GetProperty("refresh").GetString()!)
            {
                Standing = root.TryGetProperty("std", out var standing) ? standing.GetString() : null,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }
}
