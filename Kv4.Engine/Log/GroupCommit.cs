namespace Kv4.Engine.Log;

/// <summary>
/// Commits the log on behalf of many writers at once. A writer that needs durability (sync mode, or a
/// flush) takes the task of the current <em>round</em> after its append; the commit loop swaps the round
/// out, commits the log up to its tail, then completes the swapped round. Everything appended before the
/// swap is covered by that commit, so every waiter of the round is durable when it completes, and all the
/// writers that arrived while the previous commit was running share the next one.
/// <code>
///   writer A: append ─ take round 7 ─────────────── await ───────┐
///   writer B: append ─ take round 7 ─────── await ───────────────┤
///   loop:     [commit 6 running ...] swap 7→8, CommitAsync(tail) ┴ complete round 7
/// </code>
/// In interval mode appends only mark the log dirty, and the loop commits at most every interval. Writers that never
/// give their threads back (an interval put completes without awaiting) can starve the loop and the log device,
/// both of which run on the thread pool, and then nothing is committed at all: so once a commit is
/// <see cref="Overdue"/> (appended data has waited <see cref="OverdueAfterMs"/>, far longer than a commit of this
/// machine's disk takes) writers wait for it, and the window a crash can take stays bounded. The bound sits well
/// above a slow fsync so that it catches starvation only: a writer held back waits for the next round, a whole
/// commit longer than the one running.
/// </summary>
internal sealed class GroupCommit : IAsyncDisposable
{
    private readonly RecordLog log;
    private readonly int intervalMs;
    private readonly Lock gate = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly Task loop;
    private readonly Action<TimeSpan>? observed;
    private readonly Action? committed;
    private TaskCompletionSource round = NewRound();
    private bool waiterPending;
    private bool finished;
    private int dirty;
    private long commits;
    // When the oldest data not yet committed was appended (the first MarkDirty since the last commit started).
    private long dirtySinceMs;

    /// <summary>How long appended data may wait for a commit before writers wait for it: 4 intervals, at least 200 ms.</summary>
    public long OverdueAfterMs => Math.Max(200, 4L * intervalMs);

    /// <summary>How many commits the loop has issued (each may cover many writers).</summary>
    public long Commits => Interlocked.Read(ref commits);

    /// <param name="intervalMs">0 for sync mode (commit only when a writer waits); else the interval between commits of appended data.</param>
    /// <param name="observed">Told each commit's duration, before its waiters are released.</param>
    /// <param name="committed">Called after each commit (after <paramref name="observed"/>), before its waiters are released: durable reads move their horizon.</param>
    public GroupCommit(RecordLog log, int intervalMs, Action<TimeSpan>? observed = null, Action? committed = null)
    {
        this.log = log;
        this.intervalMs = intervalMs;
        this.observed = observed;
        this.committed = committed;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Completes when everything appended before this call is durable.</summary>
    public Task WaitDurableAsync()
    {
        lock (gate)
        {
            // After the last commit of dispose nothing more is appended, so all is durable already.
            if (finished) return Task.CompletedTask;
            if (!waiterPending && !stopping.IsCancellationRequested)
            {
                waiterPending = true;
                wake.Release();
            }
            return round.Task;
        }
    }

    /// <summary>Interval mode: appended data has waited <see cref="OverdueAfterMs"/> for a commit.</summary>
    public bool Overdue =>
        intervalMs > 0 && Volatile.Read(ref dirty) != 0 && Environment.TickCount64 - Volatile.Read(ref dirtySinceMs) > OverdueAfterMs;

    /// <summary>Interval mode: note that something was appended, so the loop commits within the interval.</summary>
    public void MarkDirty()
    {
        if (stopping.IsCancellationRequested) return;
        // Read first: the lanes of every core mark it, and a plain read keeps the line shared until a commit clears it.
        if (Volatile.Read(ref dirty) == 0 && Interlocked.Exchange(ref dirty, 1) == 0)
        {
            Volatile.Write(ref dirtySinceMs, Environment.TickCount64);
            wake.Release();
        }
    }

    private async Task RunAsync()
    {
        var token = stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await wake.WaitAsync(token).ConfigureAwait(false);
                bool someoneWaits;
                lock (gate) someoneWaits = waiterPending;
                if (!someoneWaits && intervalMs > 0)
                    await Task.Delay(intervalMs, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await CommitRoundAsync().ConfigureAwait(false);
        }
    }

    private async Task CommitRoundAsync()
    {
        TaskCompletionSource mine;
        lock (gate)
        {
            mine = round;
            round = NewRound();
            waiterPending = false;
        }
        Interlocked.Exchange(ref dirty, 0);
        Interlocked.Increment(ref commits);
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await log.CommitAsync().ConfigureAwait(false);
            try { observed?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started)); }
            catch (Exception) { /* a failing observer must not fail a commit that succeeded */ }
            committed?.Invoke();
            mine.TrySetResult();
        }
        catch (Exception e)
        {
            mine.TrySetException(e);
        }
    }

    /// <summary>Stops the loop after a last commit that completes every waiter.</summary>
    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await CommitRoundAsync().ConfigureAwait(false);
        lock (gate)
        {
            finished = true;
            // A waiter that came between the swap of the last round and now is covered by that commit too.
            round.TrySetResult();
        }
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
