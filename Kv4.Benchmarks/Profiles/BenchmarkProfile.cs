using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Kv4.Benchmarks.Profiles;

/// <summary>
/// The two job shapes the suite runs with, chosen by <c>--profile smoke|report</c> (default: report):
/// <list type="bullet">
/// <item>smoke: in-process, 1 warmup and 3 short iterations: checks every benchmark runs, in a minute or two; numbers are rough.</item>
/// <item>report: a separate process per benchmark, 3 warmups and 12 iterations of 250 ms: the figures in docs/benchmarks.md.</item>
/// </list>
/// <c>--in-process</c> makes the report profile run in-process too (no generated project to build).
/// Every other argument goes to BenchmarkDotNet's own command line (<c>--filter</c>, <c>--list flat</c>, ...).
/// </summary>
public static class BenchmarkProfile
{
    public static (IConfig Config, string[] Remaining) Select(string[] args)
    {
        var rest = new List<string>();
        var profile = "report";
        var inProcess = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--profile" && i + 1 < args.Length) profile = args[++i];
            else if (args[i] == "--in-process") inProcess = true;
            else rest.Add(args[i]);
        }

        var job = profile switch
        {
            "smoke" => Job.Dry.WithId("smoke")
                .WithWarmupCount(1).WithIterationCount(3).WithIterationTime(TimeInterval.FromMilliseconds(100))
                .WithToolchain(InProcessEmitToolchain.Instance),
            "report" => Job.Default.WithId("report")
                .WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(12).WithIterationTime(TimeInterval.FromMilliseconds(250)),
            _ => throw new ArgumentException($"unknown --profile '{profile}' (smoke or report)"),
        };
        if (inProcess) job = job.WithToolchain(InProcessEmitToolchain.Instance);
        // Dry runs a single invocation per iteration; the smoke profile wants a few, so it unsets that.
        if (profile == "smoke") job = job.WithStrategy(BenchmarkDotNet.Engines.RunStrategy.Throughput);

        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.OperationsPerSecond)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(MarkdownExporter.GitHub)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        return (config, rest.ToArray());
    }
}
