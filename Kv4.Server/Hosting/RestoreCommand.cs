using Kv4.Engine.Backups;
using Kv4.Server.Configuration;

namespace Kv4.Server.Hosting;

/// <summary>
/// `Kv4.Server restore FILE [--Kv4:DataDir=DIR ...]`: rebuilds a data directory from a backup (`GET /_backup`,
/// `kv4 backup`) and exits; the server is then started on that directory as usual. Reads the same configuration as
/// the server (appsettings.json, `Kv4__` variables, `--Kv4:` arguments), so the directory and the log's segment size
/// are the ones the server will use. FILE `-` reads standard input. Exit code 0 when restored, 1 when refused (the
/// reason on standard error; the directory is left as it was).
/// </summary>
public static class RestoreCommand
{
    public const string Verb = "restore";

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == Verb;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length < 2 || args[1].StartsWith("--", StringComparison.Ordinal))
        {
            await error.WriteLineAsync("usage: Kv4.Server restore FILE [--Kv4:DataDir=DIR] (FILE - reads standard input)");
            return 1;
        }
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args[2..])
            .Build();
        var options = configuration.GetSection(Kv4Options.Section).Get<Kv4Options>() ?? new Kv4Options();
        if (options.Cluster.IsConfigured)
        {
            await error.WriteLineAsync("a backup is restored into a single node's data directory; a cluster's nodes copy partitions among themselves");
            return 1;
        }
        try
        {
            var input = args[1] == "-" ? Console.OpenStandardInput() : File.OpenRead(args[1]);
            await using (input)
            {
                var summary = await StoreRestore.RestoreAsync(input, StoreServiceRuntimeFactory.StoreOptionsOf(options));
                await output.WriteLineAsync($"restored {summary.Records} records into {options.DataDirFullPath}: the state at cursor {summary.Cursor}, " +
                    $"taken {DateTimeOffset.FromUnixTimeMilliseconds(summary.TakenAtMs):u}");
                return 0;
            }
        }
        catch (Exception e) when (e is BackupException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"restore refused: {e.Message}");
            return 1;
        }
    }
}
