using Kv4.Server.Hosting;

if (RestoreCommand.Matches(args)) return await RestoreCommand.RunAsync(args, Console.Out, Console.Error);
Kv4ServerApp.Build(args).Run();
return 0;

/// <summary>The entry point; the application is built by <see cref="Kv4ServerApp"/>.</summary>
public partial class Program;
