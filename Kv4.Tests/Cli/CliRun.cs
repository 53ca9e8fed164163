namespace Kv4.Tests.Cli;

/// <summary>How one run of the kv4 binary ended: exit code and everything it wrote.</summary>
public sealed record CliRun(int ExitCode, string Out, string Err)
{
    public string[] Lines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Asserts exit 0 and answers stdout.</summary>
    public string Ok()
    {
        Assert.True(ExitCode == 0, $"expected exit 0, got {ExitCode}\nstdout: {Out}\nstderr: {Err}");
        return Out;
    }

    /// <summary>Asserts the exit code and that stderr says `kv4: ...` and gives a `hint:`.</summary>
    public CliRun Failed(int exitCode, string message)
    {
        Assert.True(ExitCode == exitCode, $"expected exit {exitCode}, got {ExitCode}\nstdout: {Out}\nstderr: {Err}");
        Assert.Contains("kv4: " + message, Err);
        Assert.Contains("\nhint: ", "\n" + Err);
        return this;
    }
}
