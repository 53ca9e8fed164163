using System.Diagnostics;
using Kv4.Tests.Support;

namespace Kv4.Tests.Cli;

/// <summary>
/// Runs the built kv4 binary as a user does, `dotnet Kv4.Cli.dll ARGS`, with only the environment given: the KV4_*
/// variables of the test run's own environment are removed, and the profile file is one of the test's (KV4_PROFILES)
/// so a developer's profiles never leak in.
/// </summary>
internal static class Kv4Cli
{
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    public static Task<CliRun> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunWithStdinAsync(environment, stdin: null, args);

    /// <summary>A run whose stdin is <paramref name="stdin"/> (closed at once when null).</summary>
    public static async Task<CliRun> RunWithStdinAsync(IReadOnlyDictionary<string, string> environment, string? stdin, params string[] args)
    {
        using var process = Start(environment, args, redirectStdin: true);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kv4 {string.Join(' ', args)} did not end within {Patience}: {await error}");
        }
        return new CliRun(process.ExitCode, await output, await error);
    }

    /// <summary>A run that goes on (a watch): the caller reads its output and disposes it, which kills it.</summary>
    public static CliProcess Launch(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        new(Start(environment, args, redirectStdin: false));

    private static Process Start(IReadOnlyDictionary<string, string> environment, string[] args, bool redirectStdin)
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        start.ArgumentList.Add(DotnetHost.BuiltDll("Kv4.Cli"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("KV4_", StringComparison.Ordinal)).ToArray())
            start.Environment.Remove(name);
        start.Environment["KV4_PROFILES"] = Path.Combine(Path.GetTempPath(), "kv4-tests", "no-profiles-" + Guid.NewGuid().ToString("N") + ".json");
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return Process.Start(start) ?? throw new InvalidOperationException("could not start kv4");
    }
}
