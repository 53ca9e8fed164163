using System.Diagnostics;
using System.Text;

namespace Kv4.Tests.Support;

/// <summary>A command line run as a reader would paste it: through bash, with shell variables set.</summary>
internal static class Shell
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    /// <summary>Runs <paramref name="command"/> to its end; a non-zero exit fails the test. Answers its stdout.</summary>
    public static async Task<string> RunAsync(string command, IReadOnlyDictionary<string, string> vars)
    {
        using var process = Start(command, vars);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Patience);
        Assert.True(process.ExitCode == 0, $"{command}\nexit {process.ExitCode}: {await error}");
        return await output;
    }

    /// <summary>
    /// Runs a command that streams (curl -N with --max-time) until it has written <paramref name="dataLines"/> lines
    /// starting with `data:` or ends on its own, whichever comes first; answers what it wrote. The command's own time
    /// bound is for a person at a terminal; the test stops as soon as it has what it waits for.
    /// </summary>
    public static async Task<string> StreamAsync(string command, IReadOnlyDictionary<string, string> vars, int dataLines)
    {
        using var process = Start(command, vars);
        var error = process.StandardError.ReadToEndAsync();
        var output = new StringBuilder();
        using var timeout = new CancellationTokenSource(Patience);
        var seen = 0;
        try
        {
            while (seen < dataLines && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.Append(line).Append('\n');
                if (line.StartsWith("data:", StringComparison.Ordinal)) seen++;
            }
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        Assert.True(seen == dataLines, $"{command}\n{seen} of {dataLines} events before it ended: {await error}\n{output}");
        return output.ToString();
    }

    private static Process Start(string command, IReadOnlyDictionary<string, string> vars)
    {
        var start = new ProcessStartInfo("/bin/bash", ["-c", command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in vars) start.Environment[name] = value;
        return Process.Start(start) ?? throw new InvalidOperationException("could not start bash");
    }
}
