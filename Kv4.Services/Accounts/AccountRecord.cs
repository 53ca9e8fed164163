using System.Text.Json;
using System.Text.Json.Nodes;
using Kv4.Engine.Model;

namespace Kv4.Services.Accounts;

/// <summary>
/// An account or admin as stored in layer `acc`. Example value of account `lily` (k2 = "lily@example.com"):
/// `{"username":"lily","email":"lily@example.com","name":"Lily","created":1458109242,"active":true,
///   "secret_hash":"hmac-sha256:3vQ...","password_hash":"pbkdf2-sha256$100000$...$..."}`.
/// The two hash members never leave the service: <see cref="PublicJson"/> drops them.
/// </summary>
public sealed class AccountRecord
{
    public const string SecretHashField = "secret_hash";
    public const string PasswordHashField = "password_hash";

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

    public static AccountRecord? Parse(ReadOnlySpan<byte> json, VersionId version) =>
        JsonNode.Parse(json) is JsonObject fields ? new AccountRecord(fields, version) : null;

    public static bool IsHashField(string name) => name is SecretHashField or PasswordHashField;

    /// <summary>The record as clients may see it (no hashes), compact UTF-8; <paramref name="secret"/> is added when just issued.</summary>
    public byte[] PublicJson(string? secret = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in Fields)
            {
                if (IsHashField(name)) continue;
                writer.WritePropertyName(name);
                if (value is null) writer.WriteNullValue();
                else value.WriteTo(writer);
            }
            if (secret is not null) writer.WriteString("secret", secret);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public byte[] StoredJson() => JsonSerializer.SerializeToUtf8Bytes(Fields);

    private string? Text(string name) =>
        Fields[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
