namespace Kv4.Cli.Output;

/// <summary>
/// A plain table for a terminal or a pipe: a header row in capitals, columns two spaces apart, each as wide as its
/// widest cell, numbers right-aligned, the last column left ragged (it is the value, often long).
/// </summary>
public sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];
    private readonly bool[] _rightAligned = new bool[headers.Length];

    public int Count => _rows.Count;

    /// <summary>Right-aligns the columns named (numbers).</summary>
    public TextTable AlignRight(params string[] columns)
    {
        foreach (var column in columns) _rightAligned[Array.IndexOf(headers, column)] = true;
        return this;
    }

    /// <summary>Adds a row; control characters in a cell are shown escaped, so a stored text cannot drive the terminal.</summary>
    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length) throw new ArgumentException($"a row of {headers.Length} cells was expected", nameof(cells));
        _rows.Add(cells.Select(Values.Printable).ToArray());
    }

    public void WriteTo(TextWriter output)
    {
        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in _rows)
            for (var i = 0; i < row.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        WriteRow(output, headers, widths);
        foreach (var row in _rows) WriteRow(output, row, widths);
    }

    private void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var line = new System.Text.StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0) line.Append("  ");
            var last = i == cells.Length - 1;
            if (_rightAligned[i]) line.Append(cells[i].PadLeft(widths[i]));
            else line.Append(last ? cells[i] : cells[i].PadRight(widths[i]));
        }
        output.WriteLine(line.ToString().TrimEnd());
    }
}
