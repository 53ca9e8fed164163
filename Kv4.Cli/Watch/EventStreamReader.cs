using System.Runtime.CompilerServices;
using System.Text;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Watch;

/// <summary>
/// Reads Server-Sent Events (the WHATWG event-stream format: `id:`, `event:`, `data:` fields, `:` comments, a blank
/// line ends an event). A line is bounded, and so is the silence between lines: the server sends a keep-alive every
/// 15 s, so a stream quiet for longer than <paramref name="silence"/> is taken as dropped (a half-open connection).
/// </summary>
public sealed class EventStreamReader(Stream stream, TimeSpan silence)
{
    /// <summary>The longest line kept; a change carries one value of at most about 1 MiB, escaped.</summary>
    public const int MaxLineChars = 16 << 20;

    private readonly StreamReader _reader = new(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 16384);
    private readonly char[] _buffer = new char[16384];
    private int _start;
    private int _end;

    /// <summary>The events until the stream ends (the server closed it). A dropped connection throws IOException.</summary>
    public async IAsyncEnumerable<ServerSentEvent> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? id = null;
        string type = "message";
        StringBuilder? data = null;
        while (await ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null || id is not null) yield return new ServerSentEvent(type, id, data?.ToString());
                id = null;
                type = "message";
                data = null;
                continue;
            }
            if (line[0] == ':') continue;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' ')) value = value[1..];
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": (data is null ? data = new StringBuilder() : data.Append('\n')).Append(value); break;
            }
        }
    }

    private async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        while (true)
        {
            for (var i = _start; i < _end; i++)
            {
                if (_buffer[i] != '\n') continue;
                line.Append(_buffer, _start, i - _start);
                _start = i + 1;
                if (line.Length > 0 && line[^1] == '\r') line.Length--;
                return line.ToString();
            }
            line.Append(_buffer, _start, _end - _start);
            if (line.Length > MaxLineChars) throw CliFailure.Connection($"the server sent a line of over {MaxLineChars} characters: not a Kv4 watch");
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quiet.CancelAfter(silence);
            try
            {
                _end = await _reader.ReadAsync(_buffer, quiet.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"nothing received for {silence.TotalSeconds:0} s");
            }
            _start = 0;
            if (_end == 0) return null;
        }
    }
}
