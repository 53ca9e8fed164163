using Kv4.Engine.Model;

namespace Kv4.Services.Storage;

/// <summary>An entry found by one of its secondary keys: its primary key and its latest value.</summary>
public readonly record struct KeyedValue(string Key, StoredValue Value);
