namespace Kv4.Engine.Model;

/// <summary>
/// Where one entry lives: (bucket, layer, path, key). The path is in normal form
/// (see <see cref="Rules.AddressRules.NormalizePath"/>): no leading or trailing slash, "" is the root.
/// </summary>
public readonly record struct EntryAddress(string Bucket, string Layer, string Path, string Key)
{
    public override string ToString() => $"{Bucket}/_{Layer}/{Path}?k={Key}";
}
