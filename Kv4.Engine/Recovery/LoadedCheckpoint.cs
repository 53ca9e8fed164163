using Kv4.Engine.Index;

namespace Kv4.Engine.Recovery;

/// <summary>
/// A checkpoint read back from disk: its header, the index it holds, and the log address below which every
/// record may be reflected in that index (the tail when its fuzzy copy ended; at least the replay address).
/// </summary>
internal sealed record LoadedCheckpoint(CheckpointHeader Header, StoreIndex Index, long CopiedUntilAddress);
