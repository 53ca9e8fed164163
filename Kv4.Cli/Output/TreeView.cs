namespace Kv4.Cli.Output;

/// <summary>
/// Draws paths (`rooms`, `rooms/lobby`, `rooms/lobby/side`, ...) as a tree, children sorted under their parent:
/// <code>
/// rooms
/// ├── kitchen
/// └── lobby
///     └── side
/// </code>
/// A segment that is only a parent of listed paths (not listed itself) is drawn all the same.
/// </summary>
public static class TreeView
{
    /// <summary>Draws <paramref name="paths"/> (all at or under <paramref name="root"/>, "" for the whole tree) from the root down.</summary>
    public static void Write(TextWriter output, IEnumerable<string> paths, string root)
    {
        var top = new Node();
        var prefix = root.Length == 0 ? "" : root + "/";
        var rootListed = false;
        foreach (var path in paths)
        {
            if (path == root) { rootListed = true; continue; }
            if (!path.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var node = top;
            foreach (var segment in path[prefix.Length..].Split('/')) node = node.Child(segment);
        }
        if (!rootListed && top.Children.Count == 0)
        {
            output.WriteLine("(no namespace nodes)");
            return;
        }
        if (root.Length > 0)
        {
            output.WriteLine(root);
            WriteChildren(output, top, "");
            return;
        }
        foreach (var (name, child) in top.Children)
        {
            output.WriteLine(name);
            WriteChildren(output, child, "");
        }
    }

    private static void WriteChildren(TextWriter output, Node node, string indent)
    {
        var i = 0;
        foreach (var (name, child) in node.Children)
        {
            var last = ++i == node.Children.Count;
            output.WriteLine(indent + (last ? "└── " : "├── ") + name);
            WriteChildren(output, child, indent + (last ? "    " : "│   "));
        }
    }

    private sealed class Node
    {
        public SortedDictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public Node Child(string name)
        {
            if (!Children.TryGetValue(name, out var child)) Children[name] = child = new Node();
            return child;
        }
    }
}
