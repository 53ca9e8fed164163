namespace Kv4.Engine.Model;

/// <summary>
/// The secondary keys `k2`..`k4` a version is indexed by, each unique within its (bucket, layer, path).
/// A put replaces the entry's secondary keys with the ones it carries; null means none in that slot.
/// </summary>
public readonly record struct SecondaryKeys(string? K2 = null, string? K3 = null, string? K4 = null)
{
    public static readonly SecondaryKeys None = default;

    public string? this[SecondaryKeySlot slot] => slot switch
    {
        SecondaryKeySlot.K2 => K2,
        SecondaryKeySlot.K3 => K3,
        SecondaryKeySlot.K4 => K4,
        _ => throw new ArgumentOutOfRangeException(nameof(slot)),
    };

    public bool IsEmpty => K2 is null && K3 is null && K4 is null;
}

public enum SecondaryKeySlot
{
    K2 = 2,
    K3 = 3,
    K4 = 4,
}
