using BenchmarkDotNet.Running;
using Kv4.Benchmarks.Profiles;

// Usage:
//   dotnet run -c Release --project Kv4.Benchmarks -- --profile smoke --filter '*'
//   dotnet run -c Release --project Kv4.Benchmarks -- --profile report --filter '*'
// Other modes (the engine's own measurements) are chosen by their flags before this line:
//   dotnet run -c Release --project Kv4.Benchmarks -- --measure-memory [--keys 1000000]
//   dotnet run -c Release --project Kv4.Benchmarks -- --measure-reopen [--keys 1000000]
if (Kv4.Benchmarks.Engine.EngineMeasurements.TryRun(args)) return;
var (config, rest) = BenchmarkProfile.Select(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config);
