using System.Text.Json;
using System.Text.Json.Nodes;
using Kv4.Engine.Model;

namespace Kv4.Services.Accounts;

/// <summary>
/// An account or admin as stored in layer `acc`. Example value of account `lily` (k2 = "lily@example.com"):
/// `{"username":"lily","email":"lily@example.com","name":"Lily","created":1458109242,"active":true,
///   "secret_hash":"hmac-sha256:3vQ...","password_hash":"pbkdf2-sha256$100000$...$..."}`.
/// `"incarnation"` (random, written when the record is created) tells a re-created account, sub-account or admin
/// from the one deleted before it under the same name; see <see cref="CallerStanding"/>.
/// The hash members and the incarnation never leave the service: <see cref="PublicJson"/> drops them.
/// </summary>
public sealed class AccountRecord
{
    public const string SecretHashField = "secret_hash";
    public const string PasswordHashField = "password_hash";
    public const string IncarnationField = "incarnation";

    public AccountRecord(JsonObject fields, VersionId version)
    {
        Fields = fields;
        Version = version;
    }

    public JsonObject Fields { get; }

    public VersionId Version { get; }

    public bool Active => Fields["active"] is JsonValue v && v.GetValueKind() == JsonValueKind.True;

    public string? SecretHash => Text(SecretHashField);

    public string? PasswordHash => Text(PasswordHashField);

    public string? Email => Text("email");

    /// <summary>Empty for a record written before incarnations existed; such a record's re-creation still gets a new one.</summary>
    public string Incarnation => Text(IncarnationField) ?? "";

    public static AccountRecord? Parse(ReadOnlySpan<byte> json, VersionId version) =>
        JsonNode.Parse(json) is JsonObject fields ? new AccountRecord(fields, version) : null;

    /// <summary>
    /// The profile members every account carries, as the Xirsys v3 accounts did, with the value a new account gets when
    /// its creator does not give one: `{"plan":"free","term":"monthly","customer_id":null,"first_name":null,
    /// "last_name":null,"company":null}`. Each holds a string or null.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string? Default)> ProfileFields =
    [
        ("plan", "free"), ("term", "monthly"), ("customer_id", null), ("first_name", null), ("last_name", null), ("company", null),
    ];

    public static bool IsProfileField(string name)
    {
        foreach (var (field, _) in ProfileFields)
            if (field == name) return true;
        return false;
    }

    /// <summary>A profile member's value: a string or null.</summary>
    public static bool IsProfileValue(JsonNode? value) => value is null || (value is JsonValue v && v.GetValueKind() == JsonValueKind.String);

    /// <summary>Members only the service writes and nobody reads back: the hashes and the incarnation.</summary>
    public static bool IsInternalField(string name) => name is SecretHashField or PasswordHashField or IncarnationField;

    /// <summary>A fresh incarnation for a record being created.</summary>
    public static string NewIncarnation() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    /// <summary>The record as clients may see it (no hashes), compact UTF-8; <paramref name="secret"/> is added when just issued.</summary>
    public byte[] PublicJson(string? secret = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in Fields)
            {
                if (IsInternalField(name)) continue;
                writer.WritePropertyName(name);
                if (value is null) writer.WriteNullValue();
                else value.WriteTo(writer);
            }
            if (secret is not null) writer.WriteString("secret", secret);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A stored version as clients may see it, for histories: the record without its hashes and incarnation
    /// (<see cref="PublicJson"/>); anything that is not a record shows as null, so nothing stored leaks unfiltered.
    /// </summary>
    public static ReadOnlyMemory<byte> Shown(ReadOnlyMemory<byte> stored)
    {
        try
        {
            return Parse(stored.Span, VersionId.None) is { } record ? record.PublicJson() : "null"u8.ToArray();
        }
        catch (JsonException)
        {
            return "null"u8.ToArray();
        }
    }

    public byte[] StoredJson() => JsonSerializer.SerializeToUtf8Bytes(Fields);

    private string? Text(string name) =>
        Fields[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
