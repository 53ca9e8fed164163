using System.Diagnostics;

namespace Kv4.Tests.Realtime;

/// <summary>
/// One phase of a broadcast fan-out measurement: a sender broadcasts numbered messages stamped with the test process's
/// clock, and every receiver must get all of them, in order; the figures are deliveries per second (first send to last
/// frame) and latency percentiles from send to frame. Shared by the single-node and the cluster measurements.
/// </summary>
internal static class FanOutMeasurement
{
    public sealed record Phase(string Name, int Messages, int Deliveries, double Seconds, double[] SortedLatenciesMs)
    {
        public double Percentile(double p)
        {
            if (SortedLatenciesMs.Length == 0) return 0;
            var index = Math.Clamp((int)Math.Ceiling(p * SortedLatenciesMs.Length) - 1, 0, SortedLatenciesMs.Length - 1);
            return SortedLatenciesMs[index];
        }
    }

    /// <summary>Sends <paramref name="messages"/> with <paramref name="gap"/> between them and waits until every receiver has them all.</summary>
    public static async Task<Phase> MeasureAsync(SignalClientRaw sender, IReadOnlyList<FanOutReceiver> receivers, string phase, int messages, TimeSpan gap)
    {
        foreach (var receiver in receivers) receiver.Expect(phase, messages);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < messages; i++)
        {
            var frame = $"{{\"t\":\"u\",\"m\":{{\"o\":\"message\"}},\"p\":{{\"phase\":\"{phase}\",\"n\":{i},\"sent\":{Stopwatch.GetTimestamp()}}}}}";
            await sender.SendAsync(frame);
            if (gap > TimeSpan.Zero) await Task.Delay(gap);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await Task.WhenAll(receivers.Select(r => r.Done.WaitAsync(timeout.Token)));
        var finished = receivers.Max(r => r.LastAt);
        foreach (var receiver in receivers)
            Assert.Equal(Enumerable.Range(0, messages), receiver.Received(phase));
        var latencies = receivers.SelectMany(r => r.Latencies(phase)).Order().ToArray();
        return new Phase(phase, messages, latencies.Length, Stopwatch.GetElapsedTime(started, finished).TotalSeconds, latencies);
    }

    /// <summary>Replaces the section that starts with <paramref name="heading"/> in docs/benchmarks.md (or appends it).</summary>
    public static void WriteSection(string heading, string section)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kv4.sln"))) dir = dir.Parent;
        if (dir is null) return;
        var path = Path.Combine(dir.FullName, "docs", "benchmarks.md");
        var text = File.ReadAllText(path);
        var start = text.IndexOf(heading + "\n", StringComparison.Ordinal);
        if (start < 0)
        {
            File.WriteAllText(path, text.TrimEnd() + "\n\n" + section);
            return;
        }
        var end = text.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
        File.WriteAllText(path, text[..start] + section + (end < 0 ? "" : text[end..]));
    }
}
