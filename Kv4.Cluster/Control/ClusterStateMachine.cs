using System.Buffers;
using System.Collections.Concurrent;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using MessagePack;

namespace Kv4.Cluster.Control;

/// <summary>
/// The Raft state machine of the control plane: applies each committed <see cref="ClusterCommand"/> to the
/// <see cref="ClusterState"/> in log order, the same on every node. Snapshots are the whole state (a few KB), taken
/// every <see cref="SnapshotEvery"/> entries, rarely: DotNext's write-ahead log was seen to fail under snapshot storms.
/// </summary>
internal sealed class ClusterStateMachine(DirectoryInfo location) : SimpleStateMachine(location)
{
    private const int SnapshotEvery = 2000;
    private const int OutcomesKept = 4096;

    private readonly ConcurrentDictionary<Guid, string?> _outcomes = new();
    private readonly ConcurrentQueue<Guid> _outcomeOrder = new();
    private ClusterState _state = ClusterState.Empty;
    private long _sinceSnapshot;

    public ClusterState Current => Volatile.Read(ref _state);

    /// <summary>After each applied command, on the apply loop: keep it short.</summary>
    public event Action<ClusterState>? Changed;

    /// <summary>The outcome of a command this node's log applied: null if it changed the state, else why not; false if not seen (yet).</summary>
    public bool TryGetOutcome(Guid id, out string? refusal) => _outcomes.TryGetValue(id, out refusal);

    protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        if (entry.IsConfiguration) return ValueTask.FromResult(false);
        byte[] payload;
        if (entry.TryGetPayload(out var sequence)) payload = sequence.ToArray();
        else
        {
            var parts = entry.GetPayload().ToList();
            payload = new byte[parts.Sum(p => p.Length)];
            var at = 0;
            foreach (var part in parts)
            {
                part.CopyTo(payload.AsMemory(at));
                at += part.Length;
            }
        }
        if (payload.Length == 0) return ValueTask.FromResult(false);
        ClusterCommand command;
        try
        {
            command = ClusterCommand.Deserialize(payload);
        }
        catch (MessagePackSerializationException)
        {
            return ValueTask.FromResult(false); // not ours: nothing to apply
        }
        var (next, refusal) = Current.Apply(command);
        _outcomes[command.Id] = refusal;
        _outcomeOrder.Enqueue(command.Id);
        while (_outcomeOrder.Count > OutcomesKept && _outcomeOrder.TryDequeue(out var old)) _outcomes.TryRemove(old, out _);
        if (refusal is null)
        {
            Volatile.Write(ref _state, next);
            Changed?.Invoke(next);
        }
        return ValueTask.FromResult(++_sinceSnapshot % SnapshotEvery == 0);
    }

    protected override async ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
    {
        var bytes = MessagePackSerializer.Serialize(Current, ClusterCommand.SerializerOptions, token);
        await writer.WriteAsync(bytes, null, token).ConfigureAwait(false);
    }

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
        var state = MessagePackSerializer.Deserialize<ClusterState>(bytes, ClusterCommand.SerializerOptions, token);
        Volatile.Write(ref _state, state);
    }
}
