using Kv4.Cluster.Bus;
using Kv4.Cluster.Control;
using Kv4.Engine.Replication;
using Microsoft.Extensions.Logging;

namespace Kv4.Cluster.Replication;

/// <summary>
/// The primary's side of one partition: streams every record the lane appends to each backup, learns how far each
/// got, and acknowledges a sequence once this node and every in-sync backup have it (on disk, in sync mode):
/// readers see it and its writer is answered from then on. It keeps the in-sync set honest through the control
/// plane: a backup that stays behind for <see cref="ClusterOptions.InSyncTimeout"/> is dropped from it (and the
/// writes waiting for it go on only once that is committed), a backup that caught up is added (and counted for
/// acknowledgements from the moment that is proposed, so nothing is acknowledged without it in between).
/// <code>
///   in sync {n1 n2 n3}, n1 primary, sync mode
///   n1 appends #8, durable here               n2 has #8 durable   n3 has #7         acknowledged: 7
///   n3 answers #8                                                                   acknowledged: 8  → readers see #8, its put returns
///   n3 silent for 1 s with #9..#12 waiting    propose in sync {n1 n2} (config c → c+1); once applied: acknowledged 12
/// </code>
/// </summary>
internal sealed class PartitionLeader : IAsyncDisposable
{
    private const int BatchRecords = 512;
    private const long BatchBytes = 1 << 20;

    private readonly StoreReplication _store;
    private readonly NodeBus _bus;
    private readonly ClusterOptions _options;
    private readonly Func<ClusterCommand, CancellationToken, Task<bool>> _propose;
    private readonly Func<string, bool> _isUp;
    private readonly ILogger _logger;
    private readonly RecentRecords _recent;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BackupStream> _streams = new(StringComparer.Ordinal);
    private readonly HashSet<string> _joining = new(StringComparer.Ordinal);
    private readonly PriorityQueue<TaskCompletionSource, long> _waiters = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _watching;
    private PartitionRecord _record;
    private long _acknowledged;
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PartitionLeader(int partition, PartitionRecord record, StoreReplication store, NodeBus bus, ClusterOptions options,
        Func<ClusterCommand, CancellationToken, Task<bool>> propose, Func<string, bool> isUp, ILogger logger)
    {
        Partition = partition;
        _record = record;
        _store = store;
        _bus = bus;
        _options = options;
        _propose = propose;
        _isUp = isUp;
        _logger = logger;
        // What this node holds when it takes over is what the in-sync backups hold (the most advanced was chosen).
        _acknowledged = store.Sequence(partition);
        _recent = new RecentRecords(_acknowledged + 1);
        store.Acknowledge(partition, _acknowledged);
        Update(record);
        _watching = WatchInSyncAsync();
    }

    public int Partition { get; }

    public int Epoch => _record.Epoch;

    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>How far each backup has come (for /_cluster/partitions).</summary>
    public IReadOnlyDictionary<string, long> BackupSequences
    {
        get
        {
            lock (_gate) return _streams.ToDictionary(s => s.Key, s => s.Value.Applied);
        }
    }

    /// <summary>The lane held: a record was appended.</summary>
    public void Appended(long sequence, ReadOnlySpan<byte> record)
    {
        _recent.Add(sequence, record);
        Interlocked.Exchange(ref _appended, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>After a commit of this node's log: in sync mode the local part of acknowledgements may move.</summary>
    public void Committed()
    {
        if (_store.Sync) Recompute();
    }

    /// <summary>The partition's record changed (its in-sync set, its replicas) but this node still leads it in the same epoch.</summary>
    public void Update(PartitionRecord record)
    {
        lock (_gate)
        {
            _record = record;
            foreach (var backup in record.Backups)
            {
                if (_streams.ContainsKey(backup)) continue;
                var stream = new BackupStream(this, backup);
                _streams[backup] = stream;
                stream.Start();
            }
            foreach (var gone in _streams.Keys.Where(b => !record.IsReplica(b)).ToList())
            {
                _streams[gone].Stop();
                _streams.Remove(gone);
            }
            _joining.RemoveWhere(record.IsInSync);
        }
        Recompute();
    }

    /// <summary>Completes once <paramref name="sequence"/> is acknowledged; the caller's token gives up (the outcome is then unknown).</summary>
    public Task WaitAcknowledgedAsync(long sequence, CancellationToken cancellationToken)
    {
        Recompute();
        if (Acknowledged >= sequence) return Task.CompletedTask;
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested) throw new BusCallException(BusFault.Unavailable, $"partition {Partition} changed primary");
            _waiters.Enqueue(waiter, sequence);
        }
        Recompute();
        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Acknowledges what this node and every in-sync (or joining) backup have, and wakes the writers it covers.</summary>
    private void Recompute()
    {
        var done = _store.Sync ? _store.DurableSequence(Partition) : _store.Sequence(Partition);
        List<TaskCompletionSource>? released = null;
        lock (_gate)
        {
            foreach (var backup in _record.InSync.Concat(_joining))
            {
                if (backup == _bus.Self) continue;
                done = Math.Min(done, _streams.TryGetValue(backup, out var stream) ? stream.Done : 0);
            }
            if (done <= _acknowledged) return;
            _acknowledged = done;
            while (_waiters.TryPeek(out _, out var sequence) && sequence <= done)
                (released ??= []).Add(_waiters.Dequeue());
        }
        _store.Acknowledge(Partition, done);
        if (released is not null) foreach (var waiter in released) waiter.TrySetResult();
    }

    /// <summary>Drops an in-sync backup that stays behind; adds a backup that caught up.</summary>
    private async Task WatchInSyncAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            PartitionRecord record;
            List<BackupStream> streams;
            lock (_gate)
            {
                record = _record;
                streams = [.. _streams.Values];
            }
            var now = Environment.TickCount64;
            var head = _store.Sequence(Partition);
            foreach (var stream in streams)
            {
                if (record.IsInSync(stream.Backup))
                {
                    if (!stream.IsLagging(head, now, (long)_options.InSyncTimeout.TotalMilliseconds)) continue;
                    _logger.LogInformation("partition {Partition}: backup {Backup} is behind ({Done} of {Head}); leaving the in-sync set",
                        Partition, stream.Backup, stream.Done, head);
                    await ProposeAsync(record with { InSync = [.. record.InSync.Where(n => n != stream.Backup)] }, token).ConfigureAwait(false);
                    break; // one change per round: the next round sees the new record
                }
                if (stream.Done < head || !_isUp(stream.Backup)) continue;
                lock (_gate)
                {
                    if (!_joining.Add(stream.Backup)) continue;
                }
                var added = await ProposeAsync(record with { InSync = [.. record.InSync, stream.Backup] }, token).ConfigureAwait(false);
                if (!added)
                {
                    lock (_gate) _joining.Remove(stream.Backup);
                    Recompute();
                }
                break;
            }
        }
    }

    private async Task<bool> ProposeAsync(PartitionRecord next, CancellationToken cancellationToken)
    {
        try
        {
            return await _propose(new SetPartition { Partition = Partition, ExpectedConfig = next.Config, Record = next }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<BackupStream> streams;
        List<TaskCompletionSource> waiters = [];
        lock (_gate)
        {
            _stopping.Cancel();
            streams = [.. _streams.Values];
            _streams.Clear();
            while (_waiters.TryDequeue(out var waiter, out _)) waiters.Add(waiter);
        }
        foreach (var waiter in waiters)
            waiter.TrySetException(new BusCallException(BusFault.Unavailable, $"partition {Partition} changed primary before the write was acknowledged"));
        foreach (var stream in streams) stream.Stop();
        try { await _watching.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        foreach (var stream in streams) await stream.StoppedAsync().ConfigureAwait(false);
    }

    /// <summary>One backup's stream: sync its history with ours, then send what it lacks, from memory or from the log.</summary>
    private sealed class BackupStream(PartitionLeader leader, string backup)
    {
        private readonly CancellationTokenSource _stopping = CancellationTokenSource.CreateLinkedTokenSource(leader._stopping.Token);
        private Task _running = Task.CompletedTask;
        private long _applied;
        private long _durable;
        private long _laggingSinceMs = -1;
        private long _lagTarget;

        public string Backup { get; } = backup;

        public long Applied => Interlocked.Read(ref _applied);

        /// <summary>What counts for acknowledgements: on the backup's disk in sync mode, applied otherwise.</summary>
        public long Done => leader._store.Sync ? Interlocked.Read(ref _durable) : Interlocked.Read(ref _applied);

        public void Start() => _running = Task.Run(RunAsync);

        public void Stop()
        {
            try { _stopping.Cancel(); }
            catch (ObjectDisposedException) { }
        }

        public async Task StoppedAsync()
        {
            try { await _running.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }

        /// <summary>Behind the head for longer than <paramref name="timeoutMs"/> without catching up to where it was then.</summary>
        public bool IsLagging(long head, long nowMs, long timeoutMs)
        {
            var done = Done;
            if (done >= head)
            {
                _laggingSinceMs = -1;
                return false;
            }
            if (_laggingSinceMs < 0 || done >= _lagTarget)
            {
                _laggingSinceMs = nowMs;
                _lagTarget = head;
                return false;
            }
            return nowMs - _laggingSinceMs > timeoutMs;
        }

        private async Task RunAsync()
        {
            var token = _stopping.Token;
            var store = leader._store;
            var p = leader.Partition;
            while (!token.IsCancellationRequested)
            {
                try
                {
                    // Sync: the backup voids what it holds beyond our common history, and says where it is.
                    var state = store.State(p);
                    leader._logger.LogTrace("partition {Partition}: syncing {Backup} from {Sequence}", p, Backup, state.Sequence);
                    var synced = await leader._bus.CallAsync<BackupSynced>(Backup, new SyncBackup
                    {
                        Partition = p, Epoch = leader.Epoch, Sequence = state.Sequence,
                        Epochs = [.. state.Epochs.Select(e => e.Epoch)], FirstSequences = [.. state.Epochs.Select(e => e.FirstSequence)],
                    }, leader._options.RequestTimeout, token).ConfigureAwait(false);
                    Interlocked.Exchange(ref _applied, synced.Sequence);
                    leader._logger.LogDebug("partition {Partition}: {Backup} synced at {Sequence}", p, Backup, synced.Sequence);
                    var next = synced.Sequence + 1;
                    long resume = 0;
                    while (!token.IsCancellationRequested)
                    {
                        var appended = Volatile.Read(ref leader._appended).Task;
                        var records = leader._recent.TakeFrom(next, BatchRecords, BatchBytes);
                        if (records is null && next - 1 < store.HistoryStart(p))
                        {
                            // What the backup lacks was compacted away here: it takes the retained versions instead.
                            next = await RebaseAsync(token).ConfigureAwait(false) + 1;
                            resume = 0;
                            continue;
                        }
                        if (records is null)
                        {
                            var read = await store.ReadRecordsAsync(p, next - 1, resume, BatchRecords, (int)BatchBytes).ConfigureAwait(false);
                            records = [.. read.Records.Records];
                            resume = read.ResumeAddress;
                        }
                        if (records.Count == 0)
                        {
                            if (store.Sync && Interlocked.Read(ref _durable) < Interlocked.Read(ref _applied))
                            {
                                // Everything is sent; ask again so the backup reports its commit.
                                await SendAsync([], token).ConfigureAwait(false);
                                continue;
                            }
                            await Task.WhenAny(appended, Task.Delay(TimeSpan.FromMilliseconds(250), token)).ConfigureAwait(false);
                            continue;
                        }
                        await SendAsync(records, token).ConfigureAwait(false);
                        next = Interlocked.Read(ref _applied) + 1;
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (BusCallException e) when (e.Code == BusFault.Stale)
                {
                    // The backup follows a newer primary: this node is about to learn it no longer leads.
                    leader._logger.LogInformation("partition {Partition}: {Backup} follows a newer epoch ({Reason})", p, Backup, e.Message);
                    await PauseAsync(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is BusCallException or Kv4.Engine.Rules.EngineException or InvalidDataException)
                {
                    leader._logger.LogDebug("partition {Partition}: stream to {Backup} restarts: {Reason}", p, Backup, e.Message);
                    await PauseAsync(TimeSpan.FromMilliseconds(100), token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Anything else would end the stream for good and leave the backup behind forever.
                    leader._logger.LogWarning(e, "partition {Partition}: stream to {Backup} failed; it restarts", p, Backup);
                    await PauseAsync(TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// Rebases the backup (Kv4Store.Rebase.cs): it voids its copy, takes the retained versions up to this node's
        /// history start (read with compaction held off, so they are one set), and goes on after it. Answers that sequence.
        /// </summary>
        private async Task<long> RebaseAsync(CancellationToken token)
        {
            var store = leader._store;
            var p = leader.Partition;
            await SendRebaseAsync(new RebaseBackup { Partition = p, Epoch = leader.Epoch, Stage = RebaseStage.Reset }, token).ConfigureAwait(false);
            await using var hold = (await store.HoldCompactionAsync(token).ConfigureAwait(false)).ConfigureAwait(false);
            long after = 0, versions = 0;
            Kv4.Engine.RetainedPage page;
            do
            {
                page = await store.ReadRetainedAsync(p, after, BatchRecords, (int)BatchBytes).ConfigureAwait(false);
                if (page.Records.Count > 0)
                    await SendRebaseAsync(new RebaseBackup { Partition = p, Epoch = leader.Epoch, Stage = RebaseStage.Retained, Records = [.. page.Records] },
                        token).ConfigureAwait(false);
                versions += page.Records.Count;
                after = page.Last;
            }
            while (after < page.UpTo);
            var done = await SendRebaseAsync(new RebaseBackup
            {
                Partition = p, Epoch = leader.Epoch, Stage = RebaseStage.Done, Sequence = page.UpTo,
                Epochs = [.. page.Epochs.Select(e => e.Epoch)], FirstSequences = [.. page.Epochs.Select(e => e.FirstSequence)],
            }, token).ConfigureAwait(false);
            leader._logger.LogInformation("partition {Partition}: rebased {Backup} on {Versions} retained versions up to {Sequence}", p, Backup, versions, page.UpTo);
            return done.Applied;
        }

        private async Task<Replicated> SendRebaseAsync(RebaseBackup step, CancellationToken token)
        {
            var answer = await leader._bus.CallAsync<Replicated>(Backup, step, leader._options.RequestTimeout, token).ConfigureAwait(false);
            Interlocked.Exchange(ref _applied, answer.Applied);
            Interlocked.Exchange(ref _durable, answer.Durable);
            return answer;
        }

        private async Task SendAsync(List<byte[]> records, CancellationToken token)
        {
            var answer = await leader._bus.CallAsync<Replicated>(Backup, new Replicate
            {
                Partition = leader.Partition, Epoch = leader.Epoch, Records = [.. records], Acknowledged = leader.Acknowledged,
            }, leader._options.RequestTimeout, token).ConfigureAwait(false);
            Interlocked.Exchange(ref _applied, answer.Applied);
            Interlocked.Exchange(ref _durable, answer.Durable);
            leader._logger.LogTrace("partition {Partition}: {Backup} has {Applied}, {Durable} on disk", leader.Partition, Backup, answer.Applied, answer.Durable);
            leader.Recompute();
        }

        private static async Task PauseAsync(TimeSpan delay, CancellationToken token)
        {
            try { await Task.Delay(delay, token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
    }
}
