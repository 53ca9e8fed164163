namespace Kv4.Cli.Watch;

/// <summary>One event of a `text/event-stream`: its type (`message` unless named), its `id` if it set one, its data.</summary>
public sealed record ServerSentEvent(string Type, string? Id, string? Data);
