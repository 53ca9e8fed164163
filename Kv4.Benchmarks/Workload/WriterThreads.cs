namespace Kv4.Benchmarks.Workload;

/// <summary>
/// A fixed gang of dedicated threads that run one piece of work each per <see cref="Run"/> call and return
/// together. Dedicated rather than pool threads, because the writers block on their acknowledgement: 64 blocked
/// pool threads would starve the continuations that complete Kv4's group commits. Created once per benchmark,
/// so no iteration pays for starting threads.
/// </summary>
public sealed class WriterThreads : IDisposable
{
    private readonly Thread[] _threads;
    private readonly Barrier _barrier;
    private Action<int>? _work;
    private Exception? _failure;
    private volatile bool _stopping;

    public WriterThreads(int count)
    {
        _barrier = new Barrier(count + 1);
        _threads = Enumerable.Range(0, count)
            .Select(i => new Thread(() => Loop(i)) { IsBackground = true, Name = $"bench-writer-{i}" })
            .ToArray();
        foreach (var thread in _threads) thread.Start();
    }

    public int Count => _threads.Length;

    /// <summary>Runs <paramref name="work"/>(writer index) on every thread and returns when all are done; rethrows the first failure.</summary>
    public void Run(Action<int> work)
    {
        _work = work;
        _barrier.SignalAndWait();
        _barrier.SignalAndWait();
        _work = null;
        if (Interlocked.Exchange(ref _failure, null) is { } failure)
            throw new InvalidOperationException("a writer failed", failure);
    }

    private void Loop(int index)
    {
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stopping) return;
            try { _work!(index); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
            _barrier.SignalAndWait();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _barrier.SignalAndWait();
        foreach (var thread in _threads) thread.Join();
        _barrier.Dispose();
    }
}
