namespace Kv4.Tests.Support;

/// <summary>The `dotnet` that runs these tests, for the child processes they start (`dotnet Some.dll`).</summary>
internal static class DotnetHost
{
    /// <summary>The SDK sets DOTNET_HOST_PATH for test runs; otherwise the `dotnet` on PATH.</summary>
    public static string Path =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
