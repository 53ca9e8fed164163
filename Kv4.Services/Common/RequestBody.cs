using System.Text.Json;
using Kv4.Engine.Model;
using Kv4.Engine.Rules;
using Kv4.Services.Api;

namespace Kv4.Services.Common;

/// <summary>
/// The one reader of the template's request body `{"k":KEY,"v":VALUE[,"k2":..,"k3":..,"k4":..][,"_ver_":VER]}`.
/// Example: `{"k":"a","v":{"x":1},"k2":"mail@x.org"}` gives Key "a", Value the bytes `{"x":1}` (a slice of the
/// body, not parsed further: the engine validates and compacts it), SecondaryKeys (K2 "mail@x.org") and
/// HasSecondaryKeys true. Keys follow <see cref="AddressRules"/>; other members are ignored.
/// A malformed body, a body that is not one object, or a repeated member is `bad_json`.
/// </summary>
public sealed class RequestBody
{
    private const int MaxDepth = JsonValueRules.MaxDepth + 1;

    private RequestBody()
    {
    }

    public string? Key { get; private set; }

    /// <summary>The raw bytes of `v`, or null when the body has no `v`.</summary>
    public ReadOnlyMemory<byte>? Value { get; private set; }

    public SecondaryKeys SecondaryKeys { get; private set; }

    /// <summary>True when the body mentions any of k2..k4 (even as null), so an update replaces the entry's secondary keys.</summary>
    public bool HasSecondaryKeys { get; private set; }

    /// <summary>A `_ver_` member beside `v` (as text), or null.</summary>
    public string? Version { get; private set; }

    /// <summary>Parses <paramref name="body"/>; on failure <paramref name="error"/> says why and nothing else is set.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> body, out RequestBody parsed, out ErrorCode error)
    {
        parsed = new RequestBody();
        error = ErrorCode.BadJson;
        var span = body.Span;
        // The reader checks structure, not the UTF-8 of strings it is never asked to decode.
        if (span.IsEmpty || !System.Text.Unicode.Utf8.IsValid(span)) return false;
        try
        {
            var reader = new Utf8JsonReader(span, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var member = MemberOf(ref reader);
                reader.Read();
                if (member != Member.Other)
                {
                    if ((seen & (1 << (int)member)) != 0) return false;
                    seen |= 1 << (int)member;
                }
                switch (member)
                {
                    case Member.K:
                        if (reader.TokenType != JsonTokenType.String) return Fail(ErrorCode.BadKey, out error);
                        parsed.Key = reader.GetString();
                        if (!AddressRules.IsValidKey(parsed.Key)) return Fail(ErrorCode.BadKey, out error);
                        break;
                    case Member.V:
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        parsed.Value = body[start..(int)reader.BytesConsumed];
                        break;
                    }
                    case Member.K2 or Member.K3 or Member.K4:
                    {
                        parsed.HasSecondaryKeys = true;
                        if (reader.TokenType == JsonTokenType.Null) break;
                        if (reader.TokenType != JsonTokenType.String) return Fail(ErrorCode.BadKey, out error);
                        var value = reader.GetString();
                        if (!AddressRules.IsValidKey(value)) return Fail(ErrorCode.BadKey, out error);
                        parsed.SecondaryKeys = member switch
                        {
                            Member.K2 => parsed.SecondaryKeys with { K2 = value },
                            Member.K3 => parsed.SecondaryKeys with { K3 = value },
                            _ => parsed.SecondaryKeys with { K4 = value },
                        };
                        break;
                    }
                    case Member.Ver:
                        parsed.Version = JsonMembers.ScalarText(ref reader, out var wrongKind);
                        if (wrongKind) return Fail(ErrorCode.BadParam, out error);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
            error = default;
            return true;
        }
        catch (JsonException)
        {
            error = ErrorCode.BadJson;
            return false;
        }
    }

    /// <summary>The `_ver_` a compare-and-set carries: inside an object `v` or beside it (both: they must agree).</summary>
    public bool TryGetExpectedVersion(out string? version, out ErrorCode error)
    {
        error = default;
        version = Version;
        if (Value is { } value && JsonMembers.TryGetScalar(value.Span, "_ver_", out var inner, out var wrongKind))
        {
            if (wrongKind || (version is not null && version != inner))
            {
                error = ErrorCode.BadParam;
                return false;
            }
            version = inner;
        }
        return true;
    }

    /// <summary>`v` as it is stored: an object loses a `_ver_` member the client copied from a read.</summary>
    public ReadOnlyMemory<byte> StorableValue => Value is { } value ? JsonMembers.Without(value, "_ver_") : default;

    private static bool Fail(ErrorCode code, out ErrorCode error)
    {
        error = code;
        return false;
    }

    private static Member MemberOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("k"u8)) return Member.K;
        if (reader.ValueTextEquals("v"u8)) return Member.V;
        if (reader.ValueTextEquals("k2"u8)) return Member.K2;
        if (reader.ValueTextEquals("k3"u8)) return Member.K3;
        if (reader.ValueTextEquals("k4"u8)) return Member.K4;
        if (reader.ValueTextEquals("_ver_"u8)) return Member.Ver;
        return Member.Other;
    }

    private enum Member
    {
        K,
        V,
        K2,
        K3,
        K4,
        Ver,
        Other,
    }
}
