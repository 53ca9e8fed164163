namespace Kv4.Engine.Model;

/// <summary>What a log record did. Stored in every record, so the numbers are part of the on-disk format.</summary>
public enum Operation : byte
{
    Put = 1,
    Delete = 2,
    /// <summary>The whole bucket was dropped (an account was deleted); layer, path and key are empty.</summary>
    DropBucket = 3,
}
