using Microsoft.Extensions.Logging;

namespace Kv4.Tests.Cluster;

/// <summary>A logger factory that appends every line to a file (the in-process cluster's nodes, for a failure's story).</summary>
internal sealed class FileLoggerFactory(string path, LogLevel minimum = LogLevel.Information) : ILoggerFactory
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private void Write(string line)
    {
        lock (_gate) File.AppendAllText(path, line + Environment.NewLine);
    }

    private sealed class Logger(FileLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.Minimum(category);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.Write($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
        }
    }

    private LogLevel Minimum(string category) => category.StartsWith("DotNext", StringComparison.Ordinal) ? LogLevel.Warning : minimum;
}
