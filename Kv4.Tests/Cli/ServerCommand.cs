using System.Diagnostics;
using Kv4.Tests.Support;

namespace Kv4.Tests.Cli;

/// <summary>Runs a command of the server binary that ends (`dotnet Kv4.Server.dll restore ...`), with none of the test run's Kv4 settings.</summary>
internal static class ServerCommand
{
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost.Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Kv4.Server.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("Kv4__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("KV4_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Kv4Cli.Patience);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new CliRun(process.ExitCode, await output, await error);
    }
}
