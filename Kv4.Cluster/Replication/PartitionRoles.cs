using Kv4.Cluster.Bus;
using Kv4.Cluster.Control;
using Kv4.Engine.Lanes;
using Kv4.Engine.Replication;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Replication;

/// <summary>
/// What this node does with each partition, kept in line with the control plane's state: the engine lane's role and
/// epoch, a <see cref="PartitionLeader"/> for each partition it leads, and the backup's side of replication (syncing
/// histories, applying records) for each partition it copies. A <see cref="Fence"/> from the leader demotes a
/// partition at once, before the state that gives it a new primary arrives.
/// <code>
///   state v12: p5 e3 primary n1 [n1 n2 n3]      n1: lane p5 Primary e3 + leader streaming to n2, n3
///   fence(p5, e4) at n1, n2                      n1: lane p5 Backup (new writes refused), leader stopped
///   state v13: p5 e4 primary n2                   n2: lane p5 Primary e4 + leader; n1 syncs with n2 (voids its tail)
/// </code>
/// </summary>
internal sealed class PartitionRoles : IAppendObserver, IAsyncDisposable
{
    private readonly StoreReplication _store;
    private readonly NodeBus _bus;
    private readonly ControlPlane _plane;
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly PartitionLeader?[] _leaders;
    private readonly int[] _roles;
    private readonly int[] _fenced;
    private readonly SemaphoreSlim[] _backupGates;
    private readonly SemaphoreSlim _reconciling = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public PartitionRoles(StoreReplication store, NodeBus bus, ControlPlane plane, ClusterOptions options, ILoggerFactory loggerFactory)
    {
        _store = store;
        _bus = bus;
        _plane = plane;
        _options = options;
        _logger = loggerFactory.CreateLogger("Kv4.Cluster.Replication");
        _leaders = new PartitionLeader?[store.PartitionCount];
        _roles = new int[store.PartitionCount];
        Array.Fill(_roles, (int)PartitionRole.None);
        _fenced = new int[store.PartitionCount];
        _backupGates = [.. Enumerable.Range(0, store.PartitionCount).Select(_ => new SemaphoreSlim(1, 1))];
        plane.StateChanged += _ => _wake.Release();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The partition's leader here, if this node leads it now (the caller checks the lease).</summary>
    public PartitionLeader? LeaderOf(int partition) => Volatile.Read(ref _leaders[partition]);

    public PartitionRole RoleOf(int partition) => (PartitionRole)Volatile.Read(ref _roles[partition]);

    void IAppendObserver.Appended(int partition, long partitionSequence, long version, ReadOnlySpan<byte> framedRecord) =>
        Volatile.Read(ref _leaders[partition])?.Appended(partitionSequence, framedRecord);

    void IAppendObserver.Committed()
    {
        foreach (var leader in _leaders) leader?.Committed();
    }

    /// <summary>Reconciles now (the loop also does on every state change); completes when the roles follow the current state.</summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        await _reconciling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = _plane.State;
            if (!state.IsBootstrapped) return;
            for (var p = 0; p < state.PartitionCount && p < _leaders.Length; p++)
            {
                try
                {
                    await ReconcileAsync(p, state.Partitions[p]).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One partition's trouble must not keep the others from following the state.
                    _logger.LogError(e, "partition {Partition}: taking the role the state gives failed", p);
                }
            }
        }
        finally
        {
            _reconciling.Release();
        }
    }

    private async Task LoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), _stopping.Token).ConfigureAwait(false);
                await ReconcileAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "partition roles: reconciling failed");
            }
        }
    }

    /// <summary>Under <see cref="_reconciling"/>.</summary>
    private async Task ReconcileAsync(int p, PartitionRecord record)
    {
        var self = _bus.Self;
        // A state that makes this node primary in an epoch older than records it already holds is one it is still
        // catching up through (a restarted node replays the control plane's log): a newer state follows; lead then.
        var current = record.Epoch >= Volatile.Read(ref _fenced[p]) && record.Epoch >= _store.State(p).Epoch;
        var role = record.Primary == self && current ? PartitionRole.Primary
            : record.IsReplica(self) || record.Primary == self ? PartitionRole.Backup : PartitionRole.None;
        var leader = _leaders[p];
        if (role == PartitionRole.Primary)
        {
            if (leader is not null && leader.Epoch == record.Epoch)
            {
                leader.Update(record);
                return;
            }
            if (leader is not null) await DemoteAsync(p, PartitionRole.Backup).ConfigureAwait(false);
            _store.Configure(p, PartitionRole.Primary, record.Epoch);
            Volatile.Write(ref _roles[p], (int)PartitionRole.Primary);
            Volatile.Write(ref _leaders[p], new PartitionLeader(p, record, _store, _bus, _options,
                (command, token) => _plane.ProposeAsync(command, token), name => _plane.State.IsUp(name), _logger));
            _logger.LogInformation("partition {Partition}: leading in epoch {Epoch} with {Replicas}", p, record.Epoch, string.Join(",", record.Replicas));
            return;
        }
        if (leader is not null || RoleOf(p) != role) await DemoteAsync(p, role).ConfigureAwait(false);
    }

    private async Task DemoteAsync(int p, PartitionRole role)
    {
        // The lane first: from here new writes are refused, then the waiting ones learn their outcome is unknown.
        _store.Configure(p, role, 0);
        Volatile.Write(ref _roles[p], (int)role);
        if (Interlocked.Exchange(ref _leaders[p], null) is { } leader)
        {
            _logger.LogInformation("partition {Partition}: no longer leading (epoch {Epoch})", p, leader.Epoch);
            await leader.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The control-plane leader is about to give the partition a new primary: refuse older epochs, and say how far we are.</summary>
    public async Task<Fenced> FenceAsync(Fence fence, CancellationToken cancellationToken)
    {
        var p = fence.Partition;
        if ((uint)p >= (uint)_leaders.Length) throw new BusCallException(BusFault.Internal, "no such partition");
        await _reconciling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            InterlockedMax(ref _fenced[p], fence.Epoch);
            if (_leaders[p] is { } leader && leader.Epoch < fence.Epoch)
            {
                if (fence.Drain)
                {
                    // A handoff: no new write, and the ones in flight go out to the backups (not yet fenced) and are
                    // answered, so a planned move fails no write.
                    _store.Configure(p, PartitionRole.Backup, 0);
                    using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    patience.CancelAfter(_options.InSyncTimeout);
                    try { await leader.WaitAcknowledgedAsync(_store.Sequence(p), patience.Token).ConfigureAwait(false); }
                    catch (Exception e) when (e is OperationCanceledException or BusCallException) { }
                }
                await DemoteAsync(p, PartitionRole.Backup).ConfigureAwait(false);
            }
        }
        finally
        {
            _reconciling.Release();
        }
        // No record can arrive any more from the old epoch: the position is final for it.
        await _backupGates[p].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = _store.State(p);
            return new Fenced { Sequence = state.Sequence, Position = state.Position };
        }
        finally
        {
            _backupGates[p].Release();
        }
    }

    public async Task<BackupSynced> SyncAsync(string primary, SyncBackup sync, CancellationToken cancellationToken)
    {
        var p = sync.Partition;
        _logger.LogTrace("partition {Partition}: {Primary} asks to sync (epoch {Epoch})", p, primary, sync.Epoch);
        await _backupGates[p].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            CheckFollows(primary, p, sync.Epoch);
            var local = _store.State(p);
            var theirs = sync.Epochs.Zip(sync.FirstSequences, (e, f) => (e, f)).ToList();
            var common = StoreReplication.CommonSequence(local.Epochs, local.Sequence, theirs, sync.Sequence);
            if (local.Sequence > common)
            {
                var to = await _store.TruncateAsync(p, common).ConfigureAwait(false);
                _logger.LogInformation("partition {Partition}: voided records {From}..{To} that {Primary} (epoch {Epoch}) does not have",
                    p, to + 1, local.Sequence, primary, sync.Epoch);
            }
            return new BackupSynced { Sequence = _store.Sequence(p) };
        }
        finally
        {
            _backupGates[p].Release();
        }
    }

    public async Task<Replicated> ApplyAsync(string primary, Replicate batch, CancellationToken cancellationToken)
    {
        var p = batch.Partition;
        await _backupGates[p].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            CheckFollows(primary, p, batch.Epoch);
            foreach (var record in batch.Records) _store.Apply(record);
            await _store.AfterApplyAsync().ConfigureAwait(false);
            // What the primary acknowledged is shown here too: the entries it replaced let go of their older versions, and
            // compaction counts them against retention (a version not acknowledged may still be voided).
            _store.Acknowledge(p, batch.Acknowledged);
            return new Replicated { Applied = _store.Sequence(p), Durable = _store.DurableSequence(p) };
        }
        finally
        {
            _backupGates[p].Release();
        }
    }

    /// <summary>A step of a rebase: the primary has compacted away records this backup lacks (see <see cref="RebaseBackup"/>).</summary>
    public async Task<Replicated> RebaseAsync(string primary, RebaseBackup rebase, CancellationToken cancellationToken)
    {
        var p = rebase.Partition;
        if ((uint)p >= (uint)_leaders.Length) throw new BusCallException(BusFault.Internal, "no such partition");
        await _backupGates[p].WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            CheckFollows(primary, p, rebase.Epoch);
            switch (rebase.Stage)
            {
                case RebaseStage.Reset:
                    await _store.ResetAsync(p).ConfigureAwait(false);
                    _logger.LogInformation("partition {Partition}: {Primary} compacted away records this copy lacks; it is voided and rebased", p, primary);
                    break;
                case RebaseStage.Retained:
                    foreach (var record in rebase.Records) _store.ApplyRetained(record);
                    break;
                case RebaseStage.Done:
                    await _store.RebaseAsync(p, rebase.Sequence, [.. rebase.Epochs.Zip(rebase.FirstSequences, (e, f) => (e, f))]).ConfigureAwait(false);
                    _logger.LogInformation("partition {Partition}: rebased on {Primary}'s retained versions, going on after {Sequence}", p, primary, rebase.Sequence);
                    break;
                default:
                    throw new BusCallException(BusFault.Internal, $"no rebase stage {rebase.Stage}");
            }
            return new Replicated { Applied = _store.Sequence(p), Durable = _store.DurableSequence(p) };
        }
        finally
        {
            _backupGates[p].Release();
        }
    }

    /// <summary>A primary's stream is taken only from the primary of the current state, in its epoch, on a lane already a backup.</summary>
    private void CheckFollows(string primary, int p, int epoch)
    {
        var record = _plane.State.IsBootstrapped && p < _plane.State.PartitionCount ? _plane.State.Partitions[p] : null;
        if (epoch < Volatile.Read(ref _fenced[p]) || (record is not null && epoch < record.Epoch))
            throw new BusCallException(BusFault.Stale, $"partition {p} is past epoch {epoch}");
        if (record is null || record.Epoch != epoch || record.Primary != primary || RoleOf(p) != PartitionRole.Backup)
            throw new BusCallException(BusFault.NotReady, $"partition {p}: this node does not follow {primary} in epoch {epoch} yet");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        do
        {
            current = Volatile.Read(ref target);
            if (value <= current) return;
        }
        while (Interlocked.CompareExchange(ref target, value, current) != current);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        for (var p = 0; p < _leaders.Length; p++)
            if (Interlocked.Exchange(ref _leaders[p], null) is { } leader) await leader.DisposeAsync().ConfigureAwait(false);
    }
}
