using Kv4.Cli.Failures;

namespace Kv4.Cli.Transfer;

/// <summary>
/// Reads a file of JSON lines as byte lines, each with the byte offset just after it (where to resume). A line is
/// bounded; a last line without its newline is reported as incomplete (the writer was stopped in the middle of it).
/// </summary>
public sealed class JsonLinesReader(Stream stream, long startOffset)
{
    /// <summary>The longest line accepted: one version with a value of the server's largest size, escaped.</summary>
    public const int MaxLineBytes = 16 << 20;

    private readonly byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private long _offset = startOffset;

    /// <summary>The offset just after the last line answered.</summary>
    public long Offset => _offset;

    /// <summary>The next complete line (without its newline), or null at the end (see <see cref="Incomplete"/>).</summary>
    public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        using var line = new MemoryStream();
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                line.Write(_buffer, _start, newline - _start);
                _offset += newline - _start + 1;
                _start = newline + 1;
                return line.ToArray();
            }
            line.Write(_buffer, _start, _end - _start);
            _start = _end;
            if (line.Length > MaxLineBytes) throw CliFailure.Usage($"a line at byte {_offset} is over {MaxLineBytes} bytes: not a kv4 export");
            _end = await stream.ReadAsync(_buffer, cancellationToken);
            _start = 0;
            if (_end == 0)
            {
                Incomplete = line.Length > 0;
                return null;
            }
        }
    }

    /// <summary>Forgets what was buffered: the stream was moved to <paramref name="offset"/>.</summary>
    public void Restart(long offset)
    {
        _start = _end = 0;
        _offset = offset;
        Incomplete = false;
    }

    /// <summary>True once the end was reached with a line that had no newline.</summary>
    public bool Incomplete { get; private set; }
}
