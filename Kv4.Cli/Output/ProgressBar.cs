using System.Diagnostics;

namespace Kv4.Cli.Output;

/// <summary>
/// A one-line progress bar redrawn on stderr, only when stderr is a terminal (a pipe or a log file gets none, so
/// scripts see only the closing summary). Redrawn at most ten times a second.
/// </summary>
public sealed class ProgressBar : IDisposable
{
    private const int Width = 30;
    private readonly string _label;
    private readonly bool _visible;
    private readonly Stopwatch _sinceDrawn = Stopwatch.StartNew();
    private int _lastLength;

    public ProgressBar(string label, bool enabled)
    {
        _label = label;
        _visible = enabled && !Console.IsErrorRedirected;
    }

    /// <summary>Shows <paramref name="done"/> of <paramref name="total"/> (a fraction of the bar) and a detail text.</summary>
    public void Report(long done, long total, string detail, bool force = false)
    {
        if (!_visible || (!force && _sinceDrawn.ElapsedMilliseconds < 100)) return;
        _sinceDrawn.Restart();
        var fraction = total <= 0 ? 0 : Math.Clamp((double)done / total, 0, 1);
        var filled = (int)Math.Round(fraction * Width);
        var line = $"{_label} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction * 100,3:0}% {detail}";
        Console.Error.Write("\r" + line + new string(' ', Math.Max(0, _lastLength - line.Length)));
        _lastLength = line.Length;
    }

    /// <summary>Clears the bar (once), so the summary line that follows starts clean.</summary>
    public void Dispose()
    {
        if (_visible && _lastLength > 0) Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
        _lastLength = 0;
    }
}
