namespace Kv4.Tests.Support;

/// <summary>
/// A [Fact] whose test runs external programs (<see cref="ExternalTool"/>). When one is not on PATH the test is
/// skipped with the Debian package that installs it, so `dotnet test` passes on a machine with only the .NET SDK;
/// when the CI environment variable is set nothing is skipped, and the test fails on the missing program.
/// The check runs at discovery, which is when xunit reads <see cref="FactAttribute.Skip"/>.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools)
    {
        var missing = tools.Where(t => ExternalTool.Find(t) is null).ToArray();
        if (missing.Length > 0 && !ExternalTool.InCi)
            Skip = $"needs {string.Join(", ", missing)}, not on PATH: {ExternalTool.InstallHint(missing)}";
    }
}
