using System.Globalization;

namespace Kv4.Services.Turn;

/// <summary>
/// A configured TURN host and the ICE servers it is offered as. Example: "turn1.example.com" with the default set is
/// Address "turn1.example.com:3478" (what `_host?type=turn` answers) and seven ICE entries (see <see cref="IceEntry"/>).
/// </summary>
public sealed record TurnHost(string Name, int Port, IReadOnlyList<IceEntry> Ice)
{
    /// <summary>"host:port", IPv6 literals as "[::1]:3478".</summary>
    public string Address => Name + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>A host given as `HOST[:PORT]` with its ICE entries (null or empty: the default set).</summary>
    public static TurnHost Parse(string raw, IReadOnlyList<string>? ice)
    {
        var address = TurnHostPool.Normalize(raw);
        var colon = address.LastIndexOf(':');
        var entries = (ice is { Count: > 0 } ? ice : IceEntry.DefaultSet).Select(IceEntry.Parse).ToArray();
        return new TurnHost(address[..colon], int.Parse(address.AsSpan(colon + 1), CultureInfo.InvariantCulture), entries);
    }
}
