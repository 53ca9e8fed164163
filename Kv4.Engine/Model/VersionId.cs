using System.Globalization;

namespace Kv4.Engine.Model;

/// <summary>
/// The opaque `_ver_` of an entry. It is the store-wide sequence number of the write that
/// produced the version, so it is unique across the store and never reused, even after a delete.
/// Clients see it as a decimal string and must treat it as opaque.
/// </summary>
public readonly record struct VersionId(long Sequence)
{
    public static readonly VersionId None = new(0);

    public bool IsNone => Sequence == 0;

    public override string ToString() => Sequence.ToString(CultureInfo.InvariantCulture);

    public bool TryFormat(Span<byte> utf8, out int written) =>
        System.Buffers.Text.Utf8Formatter.TryFormat(Sequence, utf8, out written);

    public static bool TryParse(ReadOnlySpan<char> text, out VersionId version)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq > 0)
        {
            version = new VersionId(seq);
            return true;
        }
        version = None;
        return false;
    }
}
