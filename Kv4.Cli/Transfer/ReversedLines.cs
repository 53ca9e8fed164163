namespace Kv4.Cli.Transfer;

/// <summary>
/// Lines kept in a temporary file and handed back last first: the server reads a history newest first, the export
/// writes it oldest first, and a path's history can be larger than memory should hold. Deleted on dispose.
/// </summary>
public sealed class ReversedLines : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "kv4-export-" + Guid.NewGuid().ToString("N") + ".tmp");
    private readonly FileStream _file;
    private readonly List<long> _starts = [];

    public ReversedLines()
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Options = FileOptions.DeleteOnClose };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        _file = new FileStream(_path, options);
    }

    public int Count => _starts.Count;

    public void Add(byte[] line)
    {
        _starts.Add(_file.Length);
        _file.Seek(0, SeekOrigin.End);
        _file.Write(line);
    }

    /// <summary>Copies the lines to <paramref name="output"/>, the last added first.</summary>
    public async Task CopyReversedAsync(Stream output, CancellationToken cancellationToken)
    {
        var end = _file.Length;
        var buffer = new byte[1 << 16];
        for (var i = _starts.Count - 1; i >= 0; i--)
        {
            var start = _starts[i];
            _file.Seek(start, SeekOrigin.Begin);
            var left = end - start;
            while (left > 0)
            {
                var read = await _file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
                if (read == 0) throw new IOException("the temporary file of the export ended early");
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                left -= read;
            }
            end = start;
        }
    }

    public void Dispose() => _file.Dispose();
}
