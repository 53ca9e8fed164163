namespace Kv4.Benchmarks.Workload;

/// <summary>
/// Splits <c>count</c> operations over <c>threads</c> threads. One thread runs inline (no hand-off
/// cost in the single-thread numbers); more run on a gang of dedicated threads (<see cref="WriterThreads"/>, made
/// once per thread count), each on its own contiguous slice, and the call returns when all are done. Dedicated:
/// on pool threads two busy writers occupy both of this machine's pool threads, and the continuations that commit
/// Kv4's log (and FasterKV's and FasterLog's device writes) wait for the pool to inject a third.
/// </summary>
public static class Threads
{
    private static readonly Dictionary<int, WriterThreads> Gangs = [];

    public static void Run(int threads, int count, Action<int, int, int> slice)
    {
        if (threads <= 1)
        {
            slice(0, 0, count);
            return;
        }
        WriterThreads gang;
        lock (Gangs)
        {
            if (!Gangs.TryGetValue(threads, out gang!)) Gangs[threads] = gang = new WriterThreads(threads);
        }
        var per = count / threads;
        gang.Run(t => slice(t, t * per, t == threads - 1 ? count : (t + 1) * per));
    }
}
