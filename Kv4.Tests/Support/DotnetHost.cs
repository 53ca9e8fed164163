using System.Reflection;

namespace Kv4.Tests.Support;

/// <summary>How the tests start their child processes: `dotnet Some.dll`, with this `dotnet` and a built dll.</summary>
internal static class DotnetHost
{
    /// <summary>The SDK sets DOTNET_HOST_PATH for test runs; otherwise the `dotnet` on PATH.</summary>
    public static string Path =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>
    /// A project's dll built beside the tests, else at the path Kv4.Tests.csproj records for it as assembly
    /// metadata <c>&lt;project&gt;.Path</c> (projects referenced with ReferenceOutputAssembly=false).
    /// </summary>
    public static string BuiltDll(string project)
    {
        var beside = System.IO.Path.Combine(AppContext.BaseDirectory, project + ".dll");
        if (File.Exists(beside)) return beside;
        var built = typeof(DotnetHost).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == project + ".Path")?.Value;
        if (built is not null && File.Exists(built)) return built;
        throw new FileNotFoundException($"{project}.dll is neither beside the tests nor at {built}; build the solution first");
    }
}
