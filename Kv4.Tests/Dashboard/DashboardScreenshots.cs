namespace Kv4.Tests.Dashboard;

/// <summary>
/// Screenshots of the dashboard for docs/dashboard.md, written to docs/images/ only when KV4_SCREENSHOTS=1, so an
/// ordinary test run (CI included) leaves the tree as it found it. Refresh them with
/// `KV4_SCREENSHOTS=1 dotnet test --filter FullyQualifiedName~Kv4.Tests.Dashboard`.
/// </summary>
internal static class DashboardScreenshots
{
    public static bool Enabled => Environment.GetEnvironmentVariable("KV4_SCREENSHOTS") == "1";

    public static async Task TakeAsync(Support.HeadlessChromium browser, string name)
    {
        if (!Enabled) return;
        // The pointer rests where the last click left it; a hover underline there is not part of the picture.
        await browser.SendAsync("Input.dispatchMouseEvent", new { type = "mouseMoved", x = 1279, y = 899 });
        await browser.ScreenshotAsync(Path.Combine(RepositoryRoot(), "docs", "images", name));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kv4.sln"))) return dir.FullName;
        throw new InvalidOperationException("KV4_SCREENSHOTS is set but the test does not run inside the repository");
    }
}
