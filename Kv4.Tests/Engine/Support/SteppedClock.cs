namespace Kv4.Tests.Engine.Support;

/// <summary>
/// A clock the test moves by hand, so version timestamps are known exactly. Only the wall clock is
/// faked: timers and Stopwatch-style timestamps stay real, so the engine's background commits still run.
/// </summary>
public sealed class SteppedClock(long startUnixMs = 1_458_109_242_000) : TimeProvider
{
    private long _nowMs = startUnixMs;

    public long NowMs => Interlocked.Read(ref _nowMs);

    public void Advance(long ms) => Interlocked.Add(ref _nowMs, ms);

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);
}
