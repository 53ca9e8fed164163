namespace Kv4.Server.Configuration;

/// <summary>Where a secret of <see cref="ServerSecrets"/> was found, in the order they are tried.</summary>
public enum SecretSource
{
    EnvironmentVariable,
    Configuration,
    DataDirectoryFile,
}
