namespace Kv4.Tests.Support;

/// <summary>
/// The programs some tests run as real peers, each with the Debian package that installs it, found on PATH (so a
/// run with a narrower PATH sees them as absent). `bash .ci/run` installs every package listed here.
/// </summary>
internal static class ExternalTool
{
    /// <summary>Program name → the Debian package, and the names the program may be installed under.</summary>
    private static readonly Dictionary<string, (string Package, string[] Names)> Known = new(StringComparer.Ordinal)
    {
        ["chromium"] = ("chromium", ["chromium", "chromium-browser"]),
        ["turnserver"] = ("coturn", ["turnserver"]),
        ["turnutils_uclient"] = ("coturn", ["turnutils_uclient"]),
        ["curl"] = ("curl", ["curl"]),
        ["kill"] = ("procps", ["kill"]),
    };

    /// <summary>
    /// Set on CI machines, which install every tool: there a missing one fails its tests instead of skipping them.
    /// </summary>
    public static bool InCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public static string Package(string tool) => Entry(tool).Package;

    /// <summary>The full path of the program on PATH, or null.</summary>
    public static string? Find(string tool)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var name in Entry(tool).Names)
            foreach (var dir in path.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = System.IO.Path.Combine(dir, name);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>The full path of the program; a missing one fails the test with what to install.</summary>
    public static string Require(string tool) =>
        Find(tool) ?? throw new Xunit.Sdk.XunitException($"{tool} is not on PATH: {InstallHint([tool])}");

    public static string InstallHint(IEnumerable<string> tools) =>
        $"apt-get install {string.Join(' ', tools.Select(Package).Distinct())} (or run `bash .ci/run`, which installs it and runs the tests)";

    private static (string Package, string[] Names) Entry(string tool) =>
        Known.TryGetValue(tool, out var entry) ? entry : throw new ArgumentException($"no package known for {tool}", nameof(tool));
}
