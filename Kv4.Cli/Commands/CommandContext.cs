using System.CommandLine;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;

namespace Kv4.Cli.Commands;

/// <summary>What one run of a command works with: its parsed line, the output writers and, once asked for, the client.</summary>
public sealed class CommandContext(ParseResult parse, GlobalOptions options) : IDisposable
{
    private Kv4Client? _client;

    public ParseResult Parse { get; } = parse;

    public TextWriter Out { get; } = Console.Out;

    public TextWriter Error { get; } = Console.Error;

    public bool Json => Parse.GetValue(options.Json);

    /// <summary>The `--layer` as a service prefix (validated).</summary>
    public string Layer => ApiTarget.LayerService(Parse.GetValue(options.Layer) ?? "data");

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);

    public T Value<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    public ConnectionSettings Settings => ConnectionSettings.Resolve(Parse.GetValue(options.Url), Parse.GetValue(options.User),
        Parse.GetValue(options.Secret), Parse.GetValue(options.Profile), Environment.GetEnvironmentVariable);

    public Kv4Client Client
    {
        get
        {
            if (_client is not null) return _client;
            var seconds = Parse.GetValue(options.Timeout);
            if (seconds is < 1 or > 86400) throw CliFailure.Usage($"--timeout {seconds}: give 1..86400 seconds");
            return _client = new Kv4Client(Settings, TimeSpan.FromSeconds(seconds));
        }
    }

    /// <summary>With `--json` prints the reply as it came; answers whether it did.</summary>
    public bool WroteRaw(ApiReply reply)
    {
        if (!Json) return false;
        Out.WriteLine(reply.Raw);
        return true;
    }

    public void Dispose() => _client?.Dispose();
}
