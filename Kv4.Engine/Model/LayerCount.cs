namespace Kv4.Engine.Model;

/// <summary>A layer of a bucket with the number of live entries in it.</summary>
public readonly record struct LayerCount(string Layer, long Entries);
