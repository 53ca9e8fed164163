namespace Kv4.Server.Dashboard;

/// <summary>One file of the dashboard as it is served: its bytes, media type and strong entity tag.</summary>
public sealed record DashboardFile(string Name, ReadOnlyMemory<byte> Content, string ContentType, string ETag);
