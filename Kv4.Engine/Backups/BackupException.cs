namespace Kv4.Engine.Backups;

/// <summary>A backup that cannot be restored (cut short, damaged, another format or partition count) or a target that may not take it.</summary>
public sealed class BackupException(string message) : Exception(message);
