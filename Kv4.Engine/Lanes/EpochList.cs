using Kv4.Engine.Log;
using MessagePack;

namespace Kv4.Engine.Lanes;

/// <summary>
/// A lane's epochs as a rebase marker's value holds them: a MessagePack array of (epoch, first sequence) pairs,
/// flattened. Example: epochs [(1, 1), (3, 200)] are stored as [1, 1, 3, 200].
/// </summary>
internal static class EpochList
{
    public static byte[] Encode(IReadOnlyList<(int Epoch, long FirstSequence)> epochs)
    {
        var flat = new long[epochs.Count * 2];
        for (var i = 0; i < epochs.Count; i++)
        {
            flat[2 * i] = epochs[i].Epoch;
            flat[2 * i + 1] = epochs[i].FirstSequence;
        }
        return MessagePackSerializer.Serialize(flat, LogRecord.SerializerOptions);
    }

    public static List<(int Epoch, long FirstSequence)> Decode(byte[]? value)
    {
        if (value is null) return [];
        var flat = MessagePackSerializer.Deserialize<long[]>(value, LogRecord.SerializerOptions);
        if (flat.Length % 2 != 0) throw new InvalidDataException("a rebase marker's epochs are damaged");
        var epochs = new List<(int, long)>(flat.Length / 2);
        for (var i = 0; i < flat.Length; i += 2) epochs.Add(((int)flat[i], flat[i + 1]));
        return epochs;
    }
}
