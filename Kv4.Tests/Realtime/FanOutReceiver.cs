using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Kv4.Tests.Realtime;

/// <summary>One member of a fan-out measurement: counts the message frames of the current phase and their latency.</summary>
internal sealed class FanOutReceiver(SignalClientRaw socket)
{
    private readonly ConcurrentDictionary<string, List<(int N, double Ms)>> _got = new();
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _phase = "";
    private int _expected;

    public Task Done => _done.Task;

    public long LastAt { get; private set; }

    public void Expect(string phase, int count)
    {
        _got[phase] = [];
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _expected = count;
        Volatile.Write(ref _phase, phase);
    }

    public IEnumerable<int> Received(string phase) => _got[phase].Select(g => g.N);

    public IEnumerable<double> Latencies(string phase) => _got[phase].Select(g => g.Ms);

    public void Start() => _ = socket.ReadAsync(OnFrame);

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        var now = Stopwatch.GetTimestamp();
        if (frame.IndexOf("\"o\":\"message\""u8) < 0) return;
        var reader = new Utf8JsonReader(frame);
        using var doc = JsonDocument.ParseValue(ref reader);
        var p = doc.RootElement.GetProperty("p");
        var phase = p.GetProperty("phase").GetString()!;
        if (!_got.TryGetValue(phase, out var list)) return;
        list.Add((p.GetProperty("n").GetInt32(), Stopwatch.GetElapsedTime(p.GetProperty("sent").GetInt64(), now).TotalMilliseconds));
        LastAt = now;
        if (phase == Volatile.Read(ref _phase) && list.Count == _expected) _done.TrySetResult();
    }

    public ValueTask DisposeAsync() => socket.DisposeAsync();
}
