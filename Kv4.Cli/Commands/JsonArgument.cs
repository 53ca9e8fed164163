using System.Text;
using System.Text.Json;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Commands;

/// <summary>
/// A JSON value given on the command line (or `-` for stdin), checked to be exactly one JSON document before it is
/// spliced into a request body: text that is not JSON could otherwise add members of its own to the body.
/// </summary>
public static class JsonArgument
{
    /// <summary>The most read from stdin: the server's body limit is about 1 MiB.</summary>
    private const int MaxStdinBytes = 4 << 20;

    public static string Read(string text, string what)
    {
        if (text == "-") text = ReadStdin();
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 1024 });
        }
        catch (JsonException)
        {
            throw CliFailure.Usage($"{what} is not JSON: {Shorten(text)}",
                "give one JSON value, e.g. '{\"n\":1}', 42, true or '\"text\"' (strings in double quotes), or - to read it from stdin");
        }
        return text.Trim();
    }

    /// <summary>A JSON object given on the command line, for commands that merge fields.</summary>
    public static JsonElement ReadObject(string text, string what)
    {
        using var document = JsonDocument.Parse(Read(text, what));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw CliFailure.Usage($"{what} must be a JSON object: {Shorten(text)}", "e.g. '{\"plan\":\"pro\"}'");
        return document.RootElement.Clone();
    }

    private static string ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stdin.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxStdinBytes) throw CliFailure.Usage($"stdin is over {MaxStdinBytes} bytes: more than the server takes");
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
