using System.Reflection;
using System.Security.Cryptography;

namespace Kv4.Server.Dashboard;

/// <summary>
/// The dashboard's static files, compiled into Kv4.Server.dll as embedded resources named `dashboard/&lt;path&gt;`
/// (see Kv4.Server.csproj). Embedding rather than copying a web root means `dotnet run`, the test output and a
/// published build all carry the same files, with nothing to find on disk at run time. They are read once, at start.
/// A request names a file exactly: there is no directory listing, no default document other than `index.html`
/// for the root, and no path that is not one of these names.
/// </summary>
public sealed class DashboardFiles
{
    public const string ResourcePrefix = "dashboard/";

    public const string IndexName = "index.html";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    private readonly Dictionary<string, DashboardFile> _files;

    public DashboardFiles()
        : this(typeof(DashboardFiles).Assembly)
    {
    }

    internal DashboardFiles(Assembly assembly)
    {
        _files = new Dictionary<string, DashboardFile>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            // MSBuild's %(RecursiveDir) uses the build machine's separator.
            var name = resource.Replace('\\', '/');
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            name = name[ResourcePrefix.Length..];
            // A file of a type with no entry here is a packaging mistake: it fails the start, not a browser later.
            if (!ContentTypes.TryGetValue(Path.GetExtension(name), out var contentType))
                throw new InvalidOperationException($"dashboard file {name} has no known media type");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            var content = new byte[stream.Length];
            stream.ReadExactly(content);
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 16)) + "\"";
            _files.Add(name, new DashboardFile(name, content, contentType, etag));
        }
        if (!_files.ContainsKey(IndexName)) throw new InvalidOperationException("the dashboard's index.html is not embedded in Kv4.Server");
    }

    public IReadOnlyCollection<string> Names => _files.Keys;

    /// <summary>The file at <paramref name="path"/> (a normal-form path, "" for the root's index), or null.</summary>
    public DashboardFile? Find(string path) => _files.GetValueOrDefault(path.Length == 0 ? IndexName : path);
}
