namespace Kv4.Benchmarks.Workload;

/// <summary>
/// Splits <c>count</c> operations over <c>threads</c> threads. One thread runs inline (no hand-off
/// cost in the single-thread numbers); two threads run on the pool, each on its own contiguous slice,
/// and the call returns when both are done.
/// </summary>
public static class Threads
{
    public static void Run(int threads, int count, Action<int, int, int> slice)
    {
        if (threads <= 1)
        {
            slice(0, 0, count);
            return;
        }
        var per = count / threads;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
            t => slice(t, t * per, t == threads - 1 ? count : (t + 1) * per));
    }
}
