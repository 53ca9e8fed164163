using Kv4.Server.Hosting;

Kv4ServerApp.Build(args).Run();

/// <summary>The entry point; the application is built by <see cref="Kv4ServerApp"/>.</summary>
public partial class Program;
