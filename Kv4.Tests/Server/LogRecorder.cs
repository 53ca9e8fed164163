using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Server;

/// <summary>
/// A logger provider that keeps every entry at Information and above with its level, category and exception,
/// for tests that check how a failure is logged. Added through a test server's configure hook:
/// `builder => builder.Logging.AddProvider(recorder)`.
/// </summary>
public sealed class LogRecorder : ILoggerProvider
{
    public sealed record Entry(LogLevel Level, string Category, string Message, Exception? Exception);

    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => _entries.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && entries.Count < 10_000) entries.Enqueue(new Entry(logLevel, category, formatter(state, exception), exception));
        }
    }
}
