using System.Text;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Connection;

/// <summary>
/// Builds the request target `/_&lt;service&gt;/&lt;path&gt;?query` of the REST template. Path segments are
/// percent-escaped one by one (a key or segment may hold any character); `.`/`..` segments are sent escaped and
/// uncanonicalized (<see cref="Kv4Client"/>), so the server sees them and refuses them instead of the HTTP stack
/// resolving `a/../b` into a request for `b`. Whether a path is valid is the server's rule; kv4 does not repeat it.
/// </summary>
public sealed class ApiTarget
{
    private readonly StringBuilder _text = new();
    private bool _hasQuery;

    private ApiTarget(string service, string path)
    {
        _text.Append("/_").Append(Uri.EscapeDataString(service));
        foreach (var segment in Segments(path))
            _text.Append('/').Append(segment switch
            {
                "." => "%2E",
                ".." => "%2E%2E",
                _ => Uri.EscapeDataString(segment),
            });
    }

    /// <summary>`service` is the layer's service name (`data`, `cfg`, `ns`, `acc`, ...); `path` as the user wrote it.</summary>
    public static ApiTarget For(string service, string path = "") => new(service, path);

    /// <summary>The path as the server sees it: one leading and trailing `/` dropped, `/` alone the root.</summary>
    public static string Normalize(string path)
    {
        if (path.StartsWith('/')) path = path[1..];
        if (path.EndsWith('/')) path = path[..^1];
        return path;
    }

    /// <summary>Adds `name=value` (escaped); a null value adds nothing.</summary>
    public ApiTarget With(string name, string? value)
    {
        if (value is null) return this;
        _text.Append(_hasQuery ? '&' : '?').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        _hasQuery = true;
        return this;
    }

    public ApiTarget With(string name, long? value) => value is null ? this : With(name, value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public override string ToString() => _text.ToString();

    /// <summary>A `--layer` value as the service prefix it names (`data` → `/_data/`).</summary>
    public static string LayerService(string layer)
    {
        if (layer.Length is 0 or > 64 || layer.StartsWith('_') || layer.Any(c => !(c is >= 'a' and <= 'z' or >= '0' and <= '9' or ':' or '_' or '-')))
            throw CliFailure.Usage($"not a layer name: {layer}", "layers are 1..64 of a-z 0-9 : _ - without the leading underscore (data, cfg, ...)");
        return layer;
    }

    private static string[] Segments(string path)
    {
        path = Normalize(path);
        return path.Length == 0 ? [] : path.Split('/');
    }
}
